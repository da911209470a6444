// The `getOrSet` span point: `tracing:headroom:cache:getOrSet:*` (see core's createTracingChannel).
import { createTracingChannel } from '@headroom/core'
import type { Factory, GetOrSetOptions } from '../types.js'

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

/** Marks the call tracedGetOrSet makes back into getOrSet, so it is not traced twice. */
export const TRACED: unique symbol = Symbol('headroom.cache.traced')

/** `getOrSet` as implemented: with the mark its traced path passes back in. */
export type MarkedGetOrSet = <T>(
  key: string,
  factory: Factory<T>,
  options: GetOrSetOptions | undefined,
  tracing: typeof TRACED,
) => Promise<T>
