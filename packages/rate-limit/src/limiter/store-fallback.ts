import type { Emitter, Logger } from '@headroom/core'
import type { ResolvedPolicy } from '../algorithms/policy.js'
import {
  createMemoryStore,
  type MemoryStore,
  type MemoryStoreOptions,
} from '../stores/memory/memory-store.js'
import type { StoreOp, StoreOpKind, StoreResult } from '../stores/store.js'
import type { Decision, DecisionSource } from './decision.js'
import { channels, type RateLimiterEvents } from './events.js'
import type { StoreErrorMode } from './options.js'
import type { Counters } from './stats.js'

/** The limiter's conversion of a store result into a counted decision. */
export type ToDecision = (
  key: string,
  cost: number,
  result: StoreResult,
  set: readonly ResolvedPolicy[],
  from: DecisionSource,
  kind: StoreOpKind,
) => Decision

export interface StoreFallbackOptions {
  mode: StoreErrorMode
  /** Processes sharing the limit: the `local` fallback holds each limit divided by it. */
  instances: number
  closedRetryMs: number
  memoryOptions: MemoryStoreOptions
  counters: Counters
  logger: Logger
  events: Emitter<RateLimiterEvents>
  toDecision: ToDecision
}

export interface StoreFallback {
  /** Decides `op` as `onStoreError` says, the store having failed with `error`. */
  decide(op: StoreOp, error: unknown): Decision | Promise<Decision>
  /** The `local` fallback's in-process store, once a failure created it (blocks and resets go to it too). */
  localStore(): MemoryStore | undefined
}

/** What a limiter does when its store fails or times out: `open`, `closed`, or decide `local`ly. */
export function createStoreFallback(options: StoreFallbackOptions): StoreFallback {
  const { mode: fallbackMode, memoryOptions, counters, logger, events, toDecision } = options
  let local: MemoryStore | undefined

  const scaledForLocal = new WeakMap<readonly ResolvedPolicy[], readonly ResolvedPolicy[]>()
  const localPolicies = (set: readonly ResolvedPolicy[]) => {
    let scaled = scaledForLocal.get(set)
    if (scaled === undefined) {
      const n = options.instances
      scaled = set.map((p) => ({ ...p, limit: p.limit / n, burst: p.burst / n }))
      scaledForLocal.set(set, scaled)
    }
    return scaled
  }

  const decide = (op: StoreOp, error: unknown): Decision | Promise<Decision> => {
    counters.storeErrors++
    counters.fallbackDecisions++
    logger.warn({ err: error, fallback: fallbackMode }, 'rate-limit store failed; deciding with the fallback')
    if (events.has('storeError')) events.emit('storeError', { error, fallback: fallbackMode })
    channels['store-error'].publish({ error, fallback: fallbackMode })
    const first = op.policies[0]!
    if (fallbackMode === 'local') {
      local ??= createMemoryStore(memoryOptions)
      const scaled = localPolicies(op.policies)
      return local
        .run({ ...op, policies: scaled })
        .then((result) => toDecision(op.key, op.cost, result, scaled, 'local', op.kind))
    }
    const open = fallbackMode === 'open'
    const decision: Decision = {
      allowed: open,
      limit: first.limit,
      remaining: open ? first.limit : 0,
      resetMs: open ? 0 : options.closedRetryMs,
      retryAfterMs: open ? 0 : options.closedRetryMs,
      policy: first.name,
      source: fallbackMode,
    }
    if (op.kind !== 'refund') {
      counters.decisions++
      if (open) counters.allowed++
      else counters.limited++
    }
    return decision
  }

  return { decide, localStore: () => local }
}
