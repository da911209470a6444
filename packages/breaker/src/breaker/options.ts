import {
  type Clock,
  type Logger,
  type OptionsSchemaMatch,
  parseOptions,
  type RedisClient,
  systemClock,
} from '@headroom/core'
import { z } from 'zod'
import type { BreakerHub } from '../shared/hub-types.js'

/** Coordinates one breaker with its namesakes in other processes through Redis. */
export interface SharedOptions {
  /**
   * The fleet-wide name of the breaker: every instance with the same `prefix` and
   * `name` shares one state.
   */
  name: string
  /**
   * The Redis (or Cluster) client that holds the state. The breaker never closes it.
   * Give `redis` or `hub`, not both.
   * @default undefined
   */
  redis?: RedisClient
  /**
   * A hub shared by many breakers (one subscriber connection for all); see
   * {@link createBreakerHub}. @default undefined (the breaker makes its own from `redis`)
   */
  hub?: BreakerHub
  /** Key prefix (keys look like `{prefix:name}:open`). Ignored with `hub`. @default 'headroom:breaker' */
  prefix?: string
  /**
   * How long the instance that won the half-open lease may probe before it must renew
   * it; a prober that dies frees the fleet after this long.
   * @default timeout + 1000 (or resetTimeout when timeout is off)
   */
  probeLeaseMs?: number
}

/** Options of {@link createBreaker}. */
export interface BreakerOptions<Args extends unknown[] = unknown[], R = unknown> {
  /** Name in events, stats and logs. @default the function's name, or 'breaker' */
  name?: string
  /** A call running longer than this fails with `E_TIMEOUT`; `false` disables it. @default 10000 */
  timeout?: number | false
  /** The breaker opens when the failure rate in the window is above this percentage. @default 50 */
  errorThresholdPercentage?: number
  /**
   * Completed calls the rolling window must hold before the failure or slow-call rate
   * may open the breaker (opossum's default is 0: one early failure opens it).
   * @default 10
   */
  volumeThreshold?: number
  /** How long the breaker stays open before it lets probes through, in ms. @default 30000 */
  resetTimeout?: number
  /** Length of the rolling statistics window, in ms. @default 10000 */
  rollingCountTimeout?: number
  /** Buckets the window is divided into (it slides one bucket at a time). @default 10 */
  rollingCountBuckets?: number
  /** A call that takes at least this long counts as slow; 0 turns slow-call detection off. @default 0 */
  slowCallMs?: number
  /** The breaker opens when the slow-call percentage in the window reaches this. @default 50 */
  slowCallRate?: number
  /**
   * Calls let through while half-open. The breaker closes when all of them completed
   * and their failure rate and slow-call rate are under the thresholds; it reopens as
   * soon as the failures alone pass the threshold.
   * @default 1
   */
  halfOpenProbes?: number
  /**
   * Called instead of failing: with the call's arguments and the error (typed:
   * `E_CIRCUIT_OPEN`, `E_TIMEOUT`, `E_OVERLOADED`, or the function's own error).
   * @default undefined
   */
  fallback?: (...argsAndError: [...Args, Error]) => R | Promise<R>
  /**
   * Errors for which it returns true do not count as failures (a 404 is not an
   * outage); the call still rejects with them. @default undefined
   */
  errorFilter?: (error: unknown, ...args: Args) => boolean
  /**
   * Aborted when a call times out, so the work can stop (opossum's option: one
   * controller for the breaker). @default undefined
   */
  abortController?: AbortController
  /** Replace an aborted `abortController` with a fresh one on half-open and close. @default false */
  autoRenewAbortController?: boolean
  /** Most calls in flight; more are refused with `E_OVERLOADED`. @default Infinity */
  capacity?: number
  /** Share the state with other processes through Redis. @default undefined (local only) */
  shared?: SharedOptions
  /** The clock of the breaker's own timers (reset, window). @default systemClock */
  clock?: Clock
  /** A pino-compatible logger. @default silent */
  logger?: Logger
}

const percentage = z.number().min(0).max(100)
const positiveMs = z.number().positive().max(2_147_483_647)
const isFunction = (value: unknown) => typeof value === 'function'
const braceFree = (what: string) =>
  z
    .string()
    .min(1)
    .regex(/^[^{}]+$/, `Expected ${what} without "{" or "}"`)

const sharedFields = z.object({
  name: braceFree('a name'),
  redis: z
    .custom<RedisClient>((v) => typeof v === 'object' && v !== null, 'Expected an ioredis client')
    .optional(),
  hub: z
    .custom<BreakerHub>((v) => typeof v === 'object' && v !== null, 'Expected a hub from createBreakerHub')
    .optional(),
  prefix: braceFree('a prefix').optional(),
  probeLeaseMs: positiveMs.optional(),
})
const oneStore = [
  (s: { redis?: unknown; hub?: unknown }) => (s.redis === undefined) !== (s.hub === undefined),
  { message: 'Expected exactly one of "redis" or "hub"' },
] as const

const sharedSchema = sharedFields.refine(...oneStore)
true satisfies OptionsSchemaMatch<typeof sharedSchema, SharedOptions>

/** A registry's `shared`: the same settings, named by each breaker's key. */
export const registrySharedSchema = sharedFields.omit({ name: true }).refine(...oneStore)

const schema = z.object({
  name: z.string().min(1).optional(),
  timeout: z.union([positiveMs, z.literal(false)]).default(10_000),
  errorThresholdPercentage: percentage.default(50),
  volumeThreshold: z.number().int().min(0).default(10),
  resetTimeout: positiveMs.default(30_000),
  rollingCountTimeout: positiveMs.default(10_000),
  rollingCountBuckets: z.number().int().min(1).max(1000).default(10),
  slowCallMs: z.number().min(0).default(0),
  slowCallRate: percentage.default(50),
  halfOpenProbes: z.number().int().min(1).max(10_000).default(1),
  fallback: z.custom<NonNullable<BreakerOptions['fallback']>>(isFunction, 'Expected a function').optional(),
  errorFilter: z
    .custom<NonNullable<BreakerOptions['errorFilter']>>(isFunction, 'Expected a function')
    .optional(),
  abortController: z
    .custom<AbortController>(
      (v) => typeof (v as AbortController | undefined)?.abort === 'function',
      'Expected an AbortController',
    )
    .optional(),
  autoRenewAbortController: z.boolean().default(false),
  capacity: z
    .number()
    .int()
    .positive()
    .or(z.literal(Number.POSITIVE_INFINITY))
    .default(Number.POSITIVE_INFINITY),
  shared: sharedSchema.optional(),
  clock: z
    .custom<Clock>((v) => typeof (v as Clock | undefined)?.now === 'function', 'Expected a Clock')
    .default(systemClock),
  logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null, 'Expected a logger').optional(),
})
true satisfies OptionsSchemaMatch<typeof schema, BreakerOptions>

/** Options after validation, with defaults applied. */
export type ResolvedBreakerOptions = z.output<typeof schema>

/** Validates once, at construction; the error names the option and the value. */
export function resolveBreakerOptions(component: string, input: unknown): ResolvedBreakerOptions {
  return parseOptions(component, schema, input ?? {})
}

/** The options a registry's `defaults` may hold (everything but per-breaker identity). */
export const breakerOptionsSchema = schema

/**
 * How long a half-open probe lease lasts: `shared.probeLeaseMs`, or by default one
 * timeout and a second (the reset timeout when calls never time out). The one default
 * that depends on another option, so it is computed here rather than in the schema.
 */
export function probeLeaseMs(o: ResolvedBreakerOptions): number {
  return o.shared?.probeLeaseMs ?? (o.timeout === false ? o.resetTimeout : o.timeout + 1_000)
}
