import type { ResolvedPolicy } from '../algorithms/policy.js'
import type { Decision } from './decision.js'

interface Blocked {
  until: number
  /** Refuse only calls costing at least this (a refused cost of 5 says nothing about a cost of 1). */
  cost: number
  /** The policy set that refused (a per-request limit may differ); undefined for `block()`, which covers all. */
  policies: readonly ResolvedPolicy[] | undefined
  decision: Decision
}

/**
 * The local fast path: keys known to be refused until a time are refused again
 * without a round trip. Bounded: past `max` entries the oldest is dropped. A refund
 * or reset made by another process is only seen once the entry expires.
 */
export interface BlockedCache {
  readonly size: number
  /** Whether nothing is cached: asked on every decision, and a method call is cheaper than the `size` getter. */
  isEmpty(): boolean
  /** The cached refusal for this call, with `retryAfterMs` brought up to date, or undefined. */
  get(key: string, cost: number, policies: readonly ResolvedPolicy[], now: number): Decision | undefined
  set(
    key: string,
    cost: number,
    policies: readonly ResolvedPolicy[] | undefined,
    until: number,
    decision: Decision,
  ): void
  delete(key: string): void
  clear(): void
}

export function createBlockedCache(max: number): BlockedCache {
  const entries = new Map<string, Blocked>()
  return {
    get size() {
      return entries.size
    },
    isEmpty: () => entries.size === 0,
    get(key, cost, policies, now) {
      const entry = entries.get(key)
      if (entry === undefined) return undefined
      if (entry.until <= now) {
        entries.delete(key)
        return undefined
      }
      if (cost < entry.cost || (entry.policies !== undefined && entry.policies !== policies)) return undefined
      const left = entry.until - now
      return {
        ...entry.decision,
        retryAfterMs: left,
        resetMs: Math.max(left, entry.decision.resetMs - (entry.decision.retryAfterMs - left)),
        source: 'blocked',
      }
    },
    set(key, cost, policies, until, decision) {
      if (entries.size >= max && !entries.has(key)) {
        const oldest = entries.keys().next().value
        if (oldest !== undefined) entries.delete(oldest)
      }
      entries.set(key, { until, cost, policies, decision })
    },
    delete(key) {
      entries.delete(key)
    },
    clear() {
      entries.clear()
    },
  }
}
