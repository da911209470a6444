// The `consume` span point: `tracing:headroom:rate-limit:consume:*` (see core's createTracingChannel).
import { createTracingChannel } from '@headroom/core'
import type { DecisionSource } from './decision.js'

/**
 * The context of a traced `consume`; the decision arrives as the context's `result`.
 * `limiter` is the limiter's key prefix; the key is carried for tracers that opt in to
 * recording it.
 */
export interface ConsumeTraceContext {
  limiter: string
  /** The store's kind: `memory`, `redis` or a custom store's. */
  store: DecisionSource
  key: string
}

export const consumeTrace = createTracingChannel<ConsumeTraceContext>('rate-limit', 'consume')
