// The `getOrSet` span point: `tracing:headroom:cache:getOrSet:*` (see core's createTracingChannel).
import { createTracingChannel } from '@headroom/core'

/**
 * The context of a traced `getOrSet`. `tier` says who answered: `l1` (a fresh in-process
 * entry), `coalesced` (joined another caller's load), `l2` (Redis, no factory call) or
 * `miss` (the factory ran). The key is carried for tracers that opt in to recording it.
 */
export interface GetOrSetTraceContext {
  cache: string
  key: string
  tier: 'l1' | 'coalesced' | 'l2' | 'miss'
}

export const getOrSetTrace = createTracingChannel<GetOrSetTraceContext>('cache', 'getOrSet')
