import type { Clock, FailureGateOptions, Logger, OptionsSchemaMatch, RedisClient } from '@headroom/core'
import { z } from 'zod'
import type { Algorithm, ResolvedPolicy } from '../algorithms/policy.js'
import { type Duration, formatMs, toMs } from '../shared/duration.js'
import { clockSchema, loggerSchema, positive, prefixSchema, redisSchema } from '../shared/schema.js'
import { memoryBoundsSchema } from '../stores/memory/memory-store.js'
import { redisStoreFields } from '../stores/redis/redis-store-types.js'
import type { RateLimitStore } from '../stores/store.js'

/** One policy of a multi-policy limiter (e.g. 10 per second and 1,000 per day). */
export interface PolicyOptions {
  /** Names the policy in decisions, headers and Redis fields. @default `${limit}-per-${window}`, e.g. `'10-per-1s'` */
  name?: string
  /** @default the limiter's `algorithm` */
  algorithm?: Algorithm
  /** Units allowed per `window` (a positive number; fractional costs are allowed). */
  limit: number
  /** The window, in milliseconds or as `'500ms'`, `'1s'`, `'15m'`, `'1h'`, `'1d'`. */
  window: Duration
  /** Most units at once, for `gcra` and `token-bucket` (the bucket's capacity). @default limit */
  burst?: number
}

/** What to do when the store (Redis) fails or does not answer within `timeout`. */
export type StoreErrorMode = 'open' | 'closed' | 'local'

/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  /** Redis (standalone or Cluster); without it (and without `store`) state lives in memory. @default undefined */
  redis?: RedisClient
  /** A custom store (takes precedence over `redis`). @default a memory or Redis store */
  store?: RateLimitStore
  /** Key prefix; keys are `{prefix:key}`. May not contain `{` or `}`. @default 'rl' */
  prefix?: string
  /**
   * `gcra`, `token-bucket`, `fixed-window` and `sliding-window` keep O(1) state and may
   * overshoot (see the README); `sliding-log` is exact (never more than `limit` in any
   * window) with O(limit) state: for small security budgets such as failed logins.
   * @default 'gcra'
   */
  algorithm?: Algorithm
  /** Units per `window` for the single-policy form. @default undefined (then `policies` is required) */
  limit?: number
  /** Window of the single-policy form. @default undefined */
  window?: Duration
  /** Bucket capacity for `gcra` and `token-bucket`. @default limit */
  burst?: number
  /** Several policies checked together, all or nothing. @default [{ limit, window, burst }] */
  policies?: PolicyOptions[]
  /**
   * When the store fails: `open` allows, `closed` refuses (retry after `closedRetryMs`),
   * `local` decides with an in-process limiter holding each limit divided by `instances`.
   * @default 'local'
   */
  onStoreError?: StoreErrorMode
  /** Expected number of processes sharing the limit, for `onStoreError: 'local'`. @default 1 */
  instances?: number
  /** Retry-after reported by `onStoreError: 'closed'`. @default 1000 */
  closedRetryMs?: number
  /** Deadline in milliseconds of each Redis call; past it the store counts as failed. @default 50 */
  timeout?: number
  /** Whose clock decides with Redis: `server` (TIME, shared by all processes) or `client` (`clock`). @default 'server' */
  time?: 'server' | 'client'
  /** Most decisions coalesced into one script call. @default 128 */
  maxBatch?: number
  /** Keys known to be refused until a time are refused without a round trip; `false` turns it off. @default { max: 10000 } */
  blockedCache?: { max?: number } | false
  /** Memory store bounds (also used by the `local` fallback). @default { maxKeys: 100000, sweepIntervalMs: 60000 } */
  memory?: { maxKeys?: number; sweepIntervalMs?: number }
  /** The gate that stops calling a failing Redis and probes it back. @default { failureThreshold: 3, cooldownMs: 500 } */
  failureGate?: FailureGateOptions
  /** @default systemClock */
  clock?: Clock
  /** pino-compatible logger. @default silent */
  logger?: Logger
}

const algorithm = z.enum(['gcra', 'token-bucket', 'sliding-window', 'fixed-window', 'sliding-log'])
const windowSchema = z
  .custom<Duration>((value) => typeof value === 'number' || typeof value === 'string')
  .transform((value, ctx) => {
    const ms = toMs(value)
    if (!Number.isInteger(ms) || ms < 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'Expected a whole number of milliseconds >= 1, or a string like "15m"',
      })
      return z.NEVER
    }
    return ms
  })
const policySchema = z.object({
  name: z.string().min(1).optional(),
  algorithm: algorithm.optional(),
  limit: positive,
  window: windowSchema,
  burst: positive.optional(),
})

/**
 * The limiter's options. `timeout`, `time` and `maxBatch` are the Redis store's fields
 * and `memory` the memory store's bounds, defaults included; core's failure gate holds
 * the defaults of `failureGate`.
 */
export const optionsSchema = z
  .object({
    redis: redisSchema.optional(),
    store: z
      .custom<RateLimitStore>(
        (v) => typeof (v as RateLimitStore)?.run === 'function',
        'Expected a store with run()',
      )
      .optional(),
    prefix: prefixSchema.default('rl'),
    algorithm: algorithm.default('gcra'),
    limit: positive.optional(),
    window: windowSchema.optional(),
    burst: positive.optional(),
    policies: z.array(policySchema).min(1).optional(),
    onStoreError: z.enum(['open', 'closed', 'local']).default('local'),
    instances: z.number().int().positive().default(1),
    closedRetryMs: z.number().int().positive().default(1000),
    timeout: redisStoreFields.timeoutMs,
    time: redisStoreFields.time,
    maxBatch: redisStoreFields.maxBatch,
    blockedCache: z
      .union([z.literal(false), z.object({ max: z.number().int().positive().default(10_000) })])
      .prefault({}),
    memory: memoryBoundsSchema.optional(),
    failureGate: z.custom<FailureGateOptions>((v) => typeof v === 'object' && v !== null).optional(),
    clock: clockSchema,
    logger: loggerSchema.optional(),
  })
  .superRefine((o, ctx) => {
    if (o.policies === undefined) {
      if (o.limit === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['limit'],
          message: 'Expected a positive number (or give "policies")',
        })
      else if (o.window === undefined)
        ctx.addIssue({ code: 'custom', path: ['window'], message: 'Expected a window such as 60000 or "1m"' })
    }
  })

true satisfies OptionsSchemaMatch<typeof optionsSchema, RateLimiterOptions>
true satisfies OptionsSchemaMatch<typeof policySchema, PolicyOptions>

export type ParsedOptions = z.output<typeof optionsSchema>

/** The policies a limiter checks, with defaults applied; names are unique. */
export function resolvePolicies(options: ParsedOptions): ResolvedPolicy[] {
  const inputs = options.policies ?? [
    {
      limit: options.limit!,
      window: options.window!,
      burst: options.burst,
      name: undefined,
      algorithm: undefined,
    },
  ]
  const single = options.policies === undefined
  const policies = inputs.map((p) => ({
    name: p.name ?? (single ? 'default' : `${p.limit}-per-${formatMs(p.window)}`),
    algorithm: p.algorithm ?? options.algorithm,
    limit: p.limit,
    windowMs: p.window,
    burst: p.burst ?? p.limit,
  }))
  const seen = new Set<string>()
  for (const [i, p] of policies.entries()) {
    if (seen.has(p.name))
      throw new TypeError(
        `Invalid createRateLimiter option "policies.${i}.name": policy names must be unique (received "${p.name}")`,
      )
    seen.add(p.name)
  }
  return policies
}
