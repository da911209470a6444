import type { Subscribable } from '@headroom/core'
import type { ResolvedPolicy } from '../algorithms/policy.js'
import type { Decision } from './decision.js'
import type { RateLimiterEvents } from './events.js'
import type { RateLimiterStats } from './stats.js'

/** Per-call options of `consume`, `peek` and `refund`. */
export interface ConsumeOptions {
  /** Units this call costs (fractional allowed). @default 1 */
  cost?: number
  /**
   * This request's limit for the first policy (per-tier limits: `req => user.tier === 'premium' ? 1000 : 100`).
   * Its burst scales with it. @default the configured limit
   */
  limit?: number
}

/** A distributed rate limiter. Decisions are values: a refused call resolves with `allowed: false`. */
export interface RateLimiter extends Subscribable<RateLimiterEvents> {
  /** Takes `cost` units from every policy, all or nothing. */
  consume(key: string, options?: ConsumeOptions): Promise<Decision>
  /** Says whether `cost` would be allowed now, writing nothing; `remaining` is what is left now. */
  peek(key: string, options?: ConsumeOptions): Promise<Decision>
  /** Gives `cost` units back (a request that should not count); resolves to the state after it. */
  refund(key: string, options?: ConsumeOptions): Promise<Decision>
  /** Refuses the key for `ms`, whatever its policies say. Rejects with `E_STORE_UNAVAILABLE` when the store failed (the block then holds in this process only). */
  block(key: string, ms: number): Promise<void>
  /** Forgets everything about the key. Rejects with `E_STORE_UNAVAILABLE` when the store failed. */
  reset(key: string): Promise<void>
  stats(): RateLimiterStats
  /** Stops timers and rejects nothing already decided; the Redis client stays open (it is the caller's). */
  close(): Promise<void>
  readonly policies: readonly ResolvedPolicy[]
}
