// The call span point: `tracing:headroom:breaker:fire:*` (see core's createTracingChannel).
import { createTracingChannel } from '@headroom/core'
import type { BreakerState } from './types.js'

/** The context of a traced `fire`: the breaker's name and its state when the call came in. */
export interface FireTraceContext {
  breaker: string
  state: BreakerState
}

export const fireTrace = createTracingChannel<FireTraceContext>('breaker', 'fire')
