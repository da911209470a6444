import {
  type Clock,
  type Logger,
  type OptionsSchemaMatch,
  type RedisClient,
  systemClock,
} from '@headroom/core'
import { z } from 'zod'
import type { Serializer } from '../tiers/entry.js'
import { MAX_TTL_MS } from './call-options.js'

/** Options of {@link createCache}. */
export interface CacheOptions {
  /**
   * The L2 store (an ioredis client or Cluster). Without it the cache is L1 only and
   * works in one process. The cache never closes it: you own it.
   * @default undefined (L1 only)
   */
  redis?: RedisClient
  /** Prefix of every Redis key and of the bus channel; instances sharing it share data. */
  prefix: string
  /** The in-process tier. */
  l1?: {
    /** Most entries kept. @default 10000 */
    max?: number
    /** Most estimated bytes kept (UTF-16 length of the JSON, x2); unbounded when omitted. @default undefined */
    maxSize?: number
  }
  /** Default time to live of an entry, in ms (before jitter and tiers). @default 300000 (5 min) */
  ttl?: number
  /**
   * TTLs by key prefix, longest prefix wins, e.g. `{ 'content:': 3_600_000, 'user:': 300_000 }`.
   * @default {}
   */
  tiers?: Record<string, number>
  /**
   * Each TTL is shortened by a random fraction up to this, so keys written together
   * do not expire together. @default 0.1
   */
  jitter?: number
  /**
   * How long past its TTL an entry may still be served when the factory fails or
   * times out, or Redis is unreachable (fail-safe). 0 disables stale serving.
   * @default 0
   */
  grace?: number
  /** Factory timeouts, in ms. */
  timeout?: {
    /**
     * With a stale value at hand, the caller gets it after this long while the factory
     * finishes in the background. @default 100
     */
    soft?: number
    /** The factory is abandoned (its signal aborted) after this long. @default 10000 */
    hard?: number
  }
  /** Timeout of every Redis command on a request path, in ms. @default 50 */
  commandTimeout?: number
  /**
   * XFetch early refresh: a hit refreshes in the background with a probability that
   * rises as expiry nears, scaled by how long the factory took. 0 disables it.
   * @default 1
   */
  earlyRefresh?: number
  /**
   * Keeps L1 coherent across instances through Redis pub/sub (sharded pub/sub on
   * Cluster). Ignored without `redis`. @default true
   */
  bus?: boolean
  /**
   * Cross-process stampede lock: one factory call per key across every process
   * sharing `prefix`. `true` uses the defaults. @default false
   */
  lock?:
    | boolean
    | {
        /** Lease length; the holder renews it every third of it. @default 5000 */
        leaseMs?: number
        /** Longest wait for another process' result before running the factory here. @default 5000 */
        waitMs?: number
        /** Poll interval while waiting. @default 20 */
        pollMs?: number
      }
  /**
   * Turns values into L2's text and back. L1 holds what it gives back too, so `get`
   * returns the same type from either tier. JSON by default (a `Date` reads back as its
   * ISO string); superjson or v8's structured clone carry more types.
   * @default JSON
   */
  serializer?: Serializer
  /**
   * Auto-recovery of explicit writes (`set`, `delete`, `invalidateTags`, `invalidateEntity`)
   * that Redis or the bus did not take because of a transient failure (timeout, lost
   * connection, open failure gate).
   */
  recovery?: {
    /**
     * `'recover'`: the call resolves; the operation is queued and replayed once Redis
     * answers again, before other traffic goes back to Redis. `'throw'`: the call rejects
     * and nothing is queued (the local L1 is still changed). @default 'recover'
     */
    policy?: 'recover' | 'throw'
    /** Most operations queued (one per key or tag); past it the oldest is dropped. @default 10000 */
    maxItems?: number
  }
  /**
   * How `stats()` and the Prometheus collector break hits and misses down: key prefixes
   * (the longest match wins, e.g. `['content:', 'user:']`) or a function naming a key's
   * group. Keys that match none count under `'other'`. The function runs on misses and L1
   * writes only, never on an L1 hit.
   * @default the prefixes of `tiers`
   */
  keyGroups?: readonly string[] | ((key: string) => string)
  /** Most distinct groups (a bound on metric labels); names past it count under `'other'`. @default 32 */
  maxKeyGroups?: number
  /**
   * Sheds L1 on its own while memory is short: every `intervalMs` the cache reads `signal`
   * (memory use against its limit, 0..1, e.g. `@headroom/health`'s `createMemoryGauge`)
   * and, at or above `threshold`, evicts the least recently used `fraction` of L1, at most
   * `maxPerTick` entries a tick. Off when omitted.
   */
  memoryPressure?: {
    /** Memory use against its limit, 0..1. */
    signal: () => number
    /** Pressure at which shedding starts. @default 0.85 */
    threshold?: number
    /** Time between two readings, ms. @default 1000 */
    intervalMs?: number
    /** Share of L1 evicted per tick under pressure. @default 0.1 */
    fraction?: number
    /** Most entries evicted per tick (bounds the pause). @default 5000 */
    maxPerTick?: number
  }
  /**
   * Refreshes the hottest keys before they expire while `idle()` says the process has room
   * (e.g. `() => monitor.status === 'healthy'`). A key qualifies once loaded through
   * `getOrSet` (its last factory is kept, for at most `maxCandidates` keys). Off when omitted.
   */
  prefetch?: {
    /** True when background work will not hurt requests. */
    idle: () => boolean
    /** How many of the hottest keys are kept fresh. @default 100 */
    keys?: number
    /** Time between two passes, ms. @default 1000 */
    intervalMs?: number
    /** A hot key is refreshed once it expires within this long, ms. @default 3 x intervalMs */
    aheadMs?: number
    /** Most refreshes started per pass. @default 20 */
    maxPerTick?: number
    /** Most keys whose factory is kept as a candidate. @default 1000 */
    maxCandidates?: number
  }
  /** A pino-compatible logger. @default silent */
  logger?: Logger
  /** The clock (tests inject a manual one). @default systemClock */
  clock?: Clock
}

/** The `lock` option after defaults: on or off by default, and its timing either way. */
export interface LockSettings {
  /** Whether loads take the lock unless a call says otherwise. */
  enabled: boolean
  leaseMs: number
  waitMs: number
  pollMs: number
}

/** The `memoryPressure` option after defaults. */
export type MemoryPressureSettings = Required<NonNullable<CacheOptions['memoryPressure']>>

/** The `prefetch` option after defaults (`aheadMs` resolved from `intervalMs`). */
export type PrefetchSettings = Required<NonNullable<CacheOptions['prefetch']>>

/** {@link CacheOptions} after the schema: every default filled in. */
export interface ResolvedCacheOptions {
  redis?: RedisClient | undefined
  prefix: string
  l1: { max: number; maxSize?: number | undefined }
  ttl: number
  tiers: Record<string, number>
  jitter: number
  grace: number
  timeout: { soft: number; hard: number }
  commandTimeout: number
  earlyRefresh: number
  bus: boolean
  lock: LockSettings
  serializer?: Serializer | undefined
  recovery: { policy: 'recover' | 'throw'; maxItems: number }
  keyGroups: readonly string[] | ((key: string) => string)
  maxKeyGroups: number
  memoryPressure?: MemoryPressureSettings | undefined
  prefetch?: PrefetchSettings | undefined
  logger?: Logger | undefined
  clock: Clock
}

const positiveMs = z.number().finite().positive().max(MAX_TTL_MS)
const nonNegative = z.number().finite().nonnegative().max(MAX_TTL_MS)

const lockTiming = z.strictObject({
  leaseMs: positiveMs.min(30).default(5_000),
  waitMs: nonNegative.default(5_000),
  pollMs: positiveMs.default(20),
})

/** The one source of the options' defaults and rules; `createCache` parses its input with it. */
export const cacheOptionsSchema = z
  .strictObject({
    redis: z
      .custom<RedisClient>((v) => typeof v === 'object' && v !== null && 'get' in v, {
        message: 'Expected an ioredis client or Cluster',
      })
      .optional(),
    prefix: z
      .string()
      .min(1, 'Expected a non-empty string')
      .regex(/^[^{}]+$/, 'May not contain "{" or "}"'),
    l1: z
      .strictObject({
        max: z.number().int().positive().default(10_000),
        maxSize: z.number().int().positive().optional(),
      })
      .prefault({}),
    ttl: positiveMs.default(300_000),
    tiers: z.record(z.string().min(1), positiveMs).default({}),
    jitter: z.number().min(0).max(0.9).default(0.1),
    grace: nonNegative.default(0),
    timeout: z
      .strictObject({ soft: nonNegative.default(100), hard: positiveMs.default(10_000) })
      .prefault({}),
    commandTimeout: positiveMs.default(50),
    earlyRefresh: nonNegative.default(1),
    bus: z.boolean().default(true),
    lock: z
      .union([z.boolean(), lockTiming])
      .default(false)
      .transform(
        (lock): LockSettings =>
          typeof lock === 'boolean' ? { enabled: lock, ...lockTiming.parse({}) } : { enabled: true, ...lock },
      ),
    serializer: z
      .custom<Serializer>(
        (v) =>
          typeof v === 'object' &&
          v !== null &&
          typeof (v as Serializer).serialize === 'function' &&
          typeof (v as Serializer).deserialize === 'function',
        { message: 'Expected { serialize(value): string, deserialize(text): unknown }' },
      )
      .optional(),
    recovery: z
      .strictObject({
        policy: z.enum(['recover', 'throw']).default('recover'),
        maxItems: z.number().int().positive().default(10_000),
      })
      .prefault({}),
    keyGroups: z
      .union([
        z.array(z.string().min(1, 'Expected non-empty prefixes')).readonly(),
        z.custom<(key: string) => string>((v) => typeof v === 'function', {
          message: 'Expected an array of key prefixes or a function (key) => group name',
        }),
      ])
      .optional(),
    maxKeyGroups: z.number().int().positive().max(1000).default(32),
    memoryPressure: z
      .strictObject({
        signal: z.custom<() => number>((v) => typeof v === 'function', {
          message: 'Expected a function returning memory use against its limit (0..1)',
        }),
        threshold: z.number().positive().max(1).default(0.85),
        intervalMs: positiveMs.min(10).default(1000),
        fraction: z.number().positive().max(1).default(0.1),
        maxPerTick: z.number().int().positive().default(5000),
      })
      .optional(),
    prefetch: z
      .strictObject({
        idle: z.custom<() => boolean>((v) => typeof v === 'function', {
          message: 'Expected a function returning true when the process has room for background work',
        }),
        keys: z.number().int().positive().max(100_000).default(100),
        intervalMs: positiveMs.min(10).default(1000),
        aheadMs: positiveMs.optional(),
        maxPerTick: z.number().int().positive().default(20),
        maxCandidates: z.number().int().positive().max(1_000_000).default(1000),
      })
      .transform(
        ({ aheadMs, ...rest }): PrefetchSettings => ({ ...rest, aheadMs: aheadMs ?? 3 * rest.intervalMs }),
      )
      .optional(),
    logger: z.custom<Logger>((v) => v === undefined || (typeof v === 'object' && v !== null)).optional(),
    clock: z
      .custom<Clock>((v) => v === undefined || (typeof v === 'object' && v !== null))
      .default(() => systemClock),
  })
  // Key groups default to the tier prefixes: one breakdown of the figures per TTL tier.
  .transform((options) => ({
    ...options,
    keyGroups: options.keyGroups ?? Object.keys(options.tiers),
  })) satisfies z.ZodType<ResolvedCacheOptions, CacheOptions>

true satisfies OptionsSchemaMatch<typeof cacheOptionsSchema, CacheOptions>
