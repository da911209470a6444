import type { FailureGateState, LatencySummary, Subscribable } from '@headroom/core'

/** The counters of one key group. */
export interface GroupCounters {
  l1Hits: number
  l2Hits: number
  /** Reads neither tier answered: factory loads and empty `get`/`getMany` reads. */
  misses: number
}

/** One group's figures in `stats()`. */
export interface GroupStats extends GroupCounters {
  /** (l1Hits + l2Hits) / (l1Hits + l2Hits + misses); 0 before the first read. */
  hitRate: number
}

/** Per-call options of `set`. */
export interface SetOptions {
  /** Time to live in ms; the key's tier (or the default) when omitted. */
  ttl?: number
  /** Tags for `invalidateTags`. */
  tags?: string[]
  /** Stale-serving window past the TTL, in ms. @default the cache's `grace` */
  grace?: number
}

/** Per-call options of `getOrSet`. */
export interface GetOrSetOptions extends SetOptions {
  /** Overrides the cache's factory timeouts for this call. */
  timeout?: { soft?: number; hard?: number }
  /** Overrides the cache's cross-process lock for this call. */
  lock?: boolean
}

/** What a factory receives. */
export interface FactoryContext<T> {
  key: string
  /** The stale value within grace, when there is one. */
  stale: T | undefined
  /** Aborted when the hard timeout abandons the call (or the cache closes). */
  signal: AbortSignal
}

/** Computes a missing value. It must not return `undefined` (use `null` for "nothing"). */
export type Factory<T> = (context: FactoryContext<T>) => T | Promise<T>

/** Why a stale value was served. */
export type StaleReason =
  | 'factory-error'
  | 'soft-timeout'
  | 'hard-timeout'
  | 'store-unavailable'
  | 'lock-held'

/** An operation auto-recovery queues: an explicit `set`, `delete` or tag invalidation. */
export type RecoveryOperation = 'set' | 'delete' | 'invalidate-tags'

/**
 * What a replay did: wrote (or deleted); kept an entry written later in L2; or, for a
 * write, found no entry to replace and wrote nothing (it may have been deleted after the
 * write was made; the next miss recomputes it).
 */
export type RecoveryOutcome = 'applied' | 'newer-in-l2' | 'absent-in-l2'

/**
 * Why a queued operation was given up: the queue was full (the oldest goes), the entry
 * expired (past its grace) before Redis came back, Redis refused the command itself, or
 * the cache was closed.
 */
export type RecoveryDropReason = 'overflow' | 'expired' | 'error' | 'closed'

/** What the recovery events carry: the key, or for a tag invalidation the tag. */
export interface RecoveryTarget {
  operation: RecoveryOperation
  key?: string
  tags?: string[]
}

/** The events `cache.on()` delivers. */
export interface CacheEvents {
  [event: string]: unknown
  miss: { key: string }
  stale: { key: string; reason: StaleReason }
  'factory-error': { key: string; error: unknown }
  'store-error': { operation: string; error: unknown }
  invalidated: { keys?: string[]; tags?: string[]; clear?: true; source: 'local' | 'bus' | 'reconnect' }
  'store-state': { state: FailureGateState; previous: FailureGateState }
  /** An operation Redis or the bus did not take is queued for replay. */
  'recovery-queued': RecoveryTarget
  /** A queued operation reached Redis (and the bus) after the failure. */
  'recovery-replayed': RecoveryTarget & { outcome: RecoveryOutcome }
  /** A queued operation was given up. */
  'recovery-dropped': RecoveryTarget & { reason: RecoveryDropReason }
}

/** A plain snapshot from `cache.stats()`. */
export interface CacheStats {
  l1: {
    hits: number
    /** L1 hits over every counted read (L1 hits + L2 hits + misses + readMisses); 0 before the first read. */
    hitRate: number
    size: number
    bytes: number
    /** Entries dropped because L1 was full (`max` or `maxSize`). */
    evictions: number
    /** Entries dropped by `shrink`, by hand or on memory pressure. */
    shed: number
  }
  l2: {
    hits: number
    /** L2 hits over the reads that got past L1 (L2 hits + misses + readMisses); 0 before the first. */
    hitRate: number
    errors: number
    state: FailureGateState | 'none'
  }
  /** Loads that ran (or waited on) a factory. */
  misses: number
  /** `get` and `getMany` reads that neither tier answered (they run no factory). */
  readMisses: number
  /** (L1 hits + L2 hits) / (L1 hits + L2 hits + misses + readMisses); 0 before the first read. */
  hitRate: number
  /**
   * Hits, misses and hit rate by key group (the `keyGroups` option, by default the `tiers`
   * prefixes; unmatched keys under `'other'`). Empty when there are no groups.
   */
  groups: Record<string, GroupStats>
  /** Callers that joined another caller's load of the same key. */
  coalesced: number
  staleServed: number
  earlyRefreshes: number
  /** Background refreshes the prefetcher started (hot keys about to expire, while idle). */
  prefetches: number
  factory: {
    calls: number
    errors: number
    softTimeouts: number
    hardTimeouts: number
    latency: LatencySummary
  }
  lock: { acquired: number; waited: number; fallbacks: number }
  bus: { published: number; received: number; reconnects: number }
  /**
   * Auto-recovery: operations waiting for Redis now (`pending`), and since start those
   * queued (a later operation on the same key replaces the queued one), replayed and dropped.
   */
  recovery: { pending: number; queued: number; replayed: number; dropped: number }
  inflight: number
}

/** What `warm` reads: keys, or a function giving them (e.g. the most read ids from a database). */
export type WarmSource = readonly string[] | (() => Iterable<string> | Promise<Iterable<string>>)

/** A tiered cache: L1 in process, L2 in Redis. */
export interface Cache extends Subscribable<CacheEvents> {
  /** The fresh value, or `undefined`. With Redis unreachable it serves a stale L1 value within grace. */
  get<T = unknown>(key: string): Promise<T | undefined>
  /** The fresh L1 value, synchronously, without touching recency or Redis. */
  peek<T = unknown>(key: string): T | undefined
  /** Stores `value` in L1 and L2 and tells other instances to drop their copy. */
  set<T>(key: string, value: T, options?: SetOptions): Promise<void>
  /**
   * The cached value, or the factory's, computed once per key per process (once across
   * processes with `lock`), with grace, soft/hard timeouts and early refresh.
   */
  getOrSet<T>(key: string, factory: Factory<T>, options?: GetOrSetOptions): Promise<T>
  /** Fresh values for many keys: L1 first, then one MGET (a per-node pipeline on Cluster). */
  getMany<T = unknown>(keys: readonly string[]): Promise<(T | undefined)[]>
  /** Removes keys from every tier and every instance's L1. */
  delete(keys: string | readonly string[]): Promise<void>
  /** Removes every entry carrying one of `tags`, everywhere. */
  invalidateTags(tags: readonly string[]): Promise<void>
  /**
   * Removes the key `<type>:<id>` and every entry tagged `entityTag`(type, id)
   * (e.g. lists that contain the entity).
   */
  invalidateEntity(type: string, id: string | number): Promise<void>
  /**
   * Fills L1 from L2 (Redis) so a restarted process does not start cold: the keys given,
   * or those a function returns, are read in chunks of 500 (one MGET each, per hash slot
   * on a Cluster); keys already fresh in L1 are skipped and no factory runs. Resolves with
   * how many entries landed in L1 (0 without Redis); rejects when Redis fails.
   */
  warm(keys: WarmSource): Promise<number>
  /**
   * The keys the prefetcher ranks hottest (at most `prefetch.keys`), hottest first; empty
   * without `prefetch`. What to `warm` a restarted worker with.
   */
  hotKeys(): string[]
  /** Evicts the least recently used `fraction` (0..1) of L1; returns how many entries went. */
  shrink(fraction: number): number
  stats(): CacheStats
  /** Resolves once the invalidation bus is subscribed (at once without Redis or bus). */
  readonly ready: Promise<void>
  /** Stops timers, waits and the bus connection. The Redis client you passed stays open. */
  close(): Promise<void>
}
