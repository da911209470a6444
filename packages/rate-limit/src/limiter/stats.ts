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

/** The limiter's own counters; a snapshot adds the blocked cache's and the Redis store's. */
export type Counters = Pick<
  RateLimiterStats,
  'decisions' | 'allowed' | 'limited' | 'fastPathRefusals' | 'storeErrors' | 'fallbackDecisions'
>

export function newCounters(): Counters {
  return {
    decisions: 0,
    allowed: 0,
    limited: 0,
    fastPathRefusals: 0,
    storeErrors: 0,
    fallbackDecisions: 0,
  }
}

/** The `stats()` of a limiter: its counters, the blocked keys, the Redis store's batches and gate (none without one). */
export function snapshotStats(
  counters: Counters,
  blockedKeys: number,
  redis: RedisStoreStats | undefined,
  latency: LatencySummary,
): RateLimiterStats {
  return {
    ...counters,
    blockedKeys,
    batches: redis?.batches ?? 0,
    batchedOperations: redis?.batchedOperations ?? 0,
    gate: redis?.gate ?? 'none',
    latency,
  }
}
