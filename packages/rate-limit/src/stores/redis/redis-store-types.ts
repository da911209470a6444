import type { Clock, FailureGate, FailureGateOptions, OptionsSchemaMatch, RedisClient } from '@headroom/core'
import { z } from 'zod'
import { clockSchema, positive, prefixSchema, redisSchema } from '../../shared/schema.js'
import type { RateLimitStore, StoreOp, StoreResult } from '../store.js'

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions {
  /** An ioredis client or Cluster (see `requestPathRedisOptions` in `@headroom/core`). */
  redis: RedisClient
  /** Key prefix: a key's state lives in `{prefix:key}:<policy>` strings (a block is written ahead of that state). */
  prefix: string
  /** Deadline of each script call, independent of ioredis' offline queue. @default 50 */
  timeoutMs?: number
  /**
   * `server`: decide on Redis' clock (TIME), the same for every process; `client`: on `clock`
   * (tests, or fleets with tightly synchronised clocks; keys then live 60 s longer than needed). @default 'server'
   */
  time?: 'server' | 'client'
  /** Most operations decided by one script call. @default 128 */
  maxBatch?: number
  /** The gate that stops calling a Redis that keeps failing, and probes it back. */
  failureGate?: FailureGateOptions
  /** @default systemClock */
  clock?: Clock
  /** Tests only: always use the general batch script, never the single-policy consume script. @default false */
  generalScriptOnly?: boolean
}

/** The Redis store's options; the limiter's `timeout`, `time` and `maxBatch` are these fields. */
export const redisStoreFields = {
  redis: redisSchema,
  prefix: prefixSchema,
  timeoutMs: positive.default(50),
  time: z.enum(['server', 'client']).default('server'),
  maxBatch: z.number().int().positive().max(4096).default(128),
  failureGate: z.custom<FailureGateOptions>((v) => typeof v === 'object' && v !== null).optional(),
  clock: clockSchema,
  generalScriptOnly: z.boolean().default(false),
}

export const redisStoreSchema = z.object(redisStoreFields)
true satisfies OptionsSchemaMatch<typeof redisStoreSchema, RedisStoreOptions>

/** Counters of the Redis store, merged into the limiter's `stats()`. */
export interface RedisStoreStats {
  batches: number
  batchedOperations: number
  failures: number
  gate: FailureGate['state']
}

/** The Redis store: a {@link RateLimitStore} with batch counters and latency observation. */
export interface RedisStore extends RateLimitStore {
  stats(): RedisStoreStats
  /** Called with each script call's round-trip time in milliseconds. */
  onRoundTrip: ((ms: number) => void) | undefined
}

/** An operation waiting for its script call, with its hash-tagged key. */
export interface Waiting {
  op: StoreOp
  key: string
  resolve: (result: StoreResult) => void
  reject: (error: unknown) => void
}

/** One script call on the wire: its decisions, its deadline, and whether it has settled (replied or timed out). */
export interface Flight {
  group: Waiting[]
  deadline: number
  done: boolean
}
