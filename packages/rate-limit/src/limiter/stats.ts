import type { LatencySummary } from '@headroom/core'
import type { RedisStoreStats } from '../stores/redis/redis-store-types.js'

/** A snapshot of a limiter's counters. */
export interface RateLimiterStats {
  decisions: number
  allowed: number
  limited: number
  /** Refusals answered by the local blocked-key fast path, without the store. */
  fastPathRefusals: number
  storeErrors: number
  /** Decisions made by `onStoreError` instead of the store. */
  fallbackDecisions: number
  blockedKeys: number
  /** Script calls and the decisions they carried (Redis store). */
  batches: number
  batchedOperations: number
  /** State of the gate in front of Redis (`closed` is healthy). */
  gate: 'closed' | 'open' | 'probing' | 'none'
  /** Round-trip time of script calls, in milliseconds. */
  latency: LatencySummary
}

/** What a snapshot adds to the limiter's own counters. */
export interface StatsSources {
  blockedKeys: number
  /** The Redis store's batches and gate; undefined without one. */
  redis: RedisStoreStats | undefined
  latency: LatencySummary
}

/** The limiter's decision counters: every count goes through a verb, so `decisions` always equals `allowed + limited`. */
export class DecisionCounters {
  #decisions = 0
  #allowed = 0
  #limited = 0
  #fastPathRefusals = 0
  #storeErrors = 0
  #fallbackDecisions = 0

  /** A decision of the store or of the `open` / `closed` fallback. */
  decided(allowed: boolean): void {
    this.#decisions++
    if (allowed) this.#allowed++
    else this.#limited++
  }

  /** A refusal answered by the blocked-key cache. */
  refusedLocally(): void {
    this.#decisions++
    this.#limited++
    this.#fastPathRefusals++
  }

  /** A store call failed (a `block` or `reset`: nothing decided it instead). */
  storeFailed(): void {
    this.#storeErrors++
  }

  /** A store call failed and `onStoreError` decides in its place. */
  fellBack(): void {
    this.#storeErrors++
    this.#fallbackDecisions++
  }

  snapshot({ blockedKeys, redis, latency }: StatsSources): RateLimiterStats {
    return {
      decisions: this.#decisions,
      allowed: this.#allowed,
      limited: this.#limited,
      fastPathRefusals: this.#fastPathRefusals,
      storeErrors: this.#storeErrors,
      fallbackDecisions: this.#fallbackDecisions,
      blockedKeys,
      batches: redis?.batches ?? 0,
      batchedOperations: redis?.batchedOperations ?? 0,
      gate: redis?.gate ?? 'none',
      latency,
    }
  }
}
