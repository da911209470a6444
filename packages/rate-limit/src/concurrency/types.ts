import type { Clock, Logger, RedisClient } from '@headroom/core'

/** Options of {@link createConcurrencyLimiter}. */
export interface ConcurrencyLimiterOptions {
  /** Redis (standalone or Cluster); without it leases live in memory. @default undefined */
  redis?: RedisClient
  /** Key prefix; a key's leases are the sorted set `{prefix:key}:leases`. @default 'cl' */
  prefix?: string
  /** Most leases held at once per key. */
  limit: number
  /** A lease not released within this is dropped (its holder died or hung). @default 60000 */
  leaseMs?: number
  /** Deadline of each Redis call. @default 50 */
  timeout?: number
  /** When Redis fails: `open` grants without a lease record, `closed` refuses, `local` counts in this process against `limit / instances`. @default 'local' */
  onStoreError?: 'open' | 'closed' | 'local'
  /** Processes sharing the limit, for `onStoreError: 'local'`. @default 1 */
  instances?: number
  /** @default systemClock */
  clock?: Clock
  /** @default silent */
  logger?: Logger
}

/** A held slot; `release()` frees it (idempotent, never rejects). */
export interface Lease {
  readonly id: string
  readonly key: string
  release(): Promise<void>
}

/** The outcome of `acquire`, as a value. */
export interface ConcurrencyDecision {
  allowed: boolean
  /** Leases held for the key, this one included when allowed. */
  active: number
  limit: number
  /** When refused: milliseconds until the oldest lease expires at the latest. */
  retryAfterMs: number
  lease: Lease | undefined
  source: 'memory' | 'redis' | 'open' | 'closed' | 'local'
}

/** Limits how many operations per key run at once, across processes. */
export interface ConcurrencyLimiter {
  acquire(key: string, options?: { limit?: number }): Promise<ConcurrencyDecision>
  /** Runs `fn` holding a lease, releasing it however `fn` ends; resolves `undefined`-free: refused calls resolve `{ allowed: false }`. */
  run<T>(
    key: string,
    fn: () => Promise<T> | T,
  ): Promise<{ allowed: true; value: T } | { allowed: false; decision: ConcurrencyDecision }>
  /** Leases currently held for `key` (expired ones excluded). */
  active(key: string): Promise<number>
  close(): Promise<void>
}
