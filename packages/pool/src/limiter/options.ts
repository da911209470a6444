import { type Clock, type Logger, type OptionsSchemaMatch, silentLogger, systemClock } from '@headroom/core'
import { z } from 'zod'
import type { LimitAlgorithmSpec } from '../algorithms/limit-algorithm.js'
import { algorithmSchema } from '../algorithms/schema.js'
import { isDropError } from '../shared/drops.js'
import { clockSchema, functionOf, loggerSchema, positiveInt, waitMs } from '../shared/schema.js'

/** Options of {@link createAdaptiveLimiter}. */
export interface AdaptiveLimiterOptions {
  /** The limit algorithm, by name or `{ name, ...tuning }`. @default 'minrtt' */
  algorithm?: LimitAlgorithmSpec
  /** The limit never goes below this. @default 1 */
  min?: number
  /** The limit never goes above this. @default 1000 */
  max?: number
  /** The limit at start, clamped into `[min, max]`. @default 20 */
  initial?: number
  /**
   * Longest time work waits for a slot before it is refused with a `LimitExceededError`
   * (reason `timeout`). 0 refuses at once when the limit is reached; `Infinity` waits
   * without bound (and turns off `congestedWaitMs`). @default 100
   */
  maxWaitMs?: number
  /**
   * The wait bound under sustained overload, as in CoDel: once the queue has not been
   * empty for `maxWaitMs`, a call that has waited longer than this when a slot frees is
   * refused (reason `timeout`) and the slot goes to a fresher one. A burst still gets
   * `maxWaitMs`; a standing queue no longer adds `maxWaitMs` to every call. At most
   * `maxWaitMs`. @default min(10, maxWaitMs)
   */
  congestedWaitMs?: number
  /**
   * No-load RTT probes, as in Envoy's adaptive concurrency filter: on the first load and
   * then about every `intervalMs` (+/- 15 %), the limit is pinned to `size` until the work
   * in flight drains to it and `samples` calls have run (or 1 s passed with at least 10,
   * on a slow backend); their mean RTT is the baseline the
   * algorithm compares against (MinRTT and Vegas: the no-load RTT; Gradient2: the long RTT).
   * Not run for AIMD, which has no baseline. `false` disables probing.
   * @default { intervalMs: 30000, size: max(min, 2), samples: 50 }
   */
  probe?: false | { intervalMs?: number; size?: number; samples?: number }
  /**
   * Most waiting calls (all partitions); more are refused at once (reason `queue-full`).
   * `Infinity` for no bound. @default 1000
   */
  maxQueue?: number
  /**
   * Priority partitions, highest priority first, each with its guaranteed share of the
   * limit (shares sum to at most 1), e.g. `{ interactive: 0.9, batch: 0.1 }`. A freed slot
   * goes to the first partition below its share that has waiters, else to the first
   * partition (in this order) that has waiters. @default { default: 1 }
   */
  partitions?: Record<string, number>
  /**
   * Decides whether a failure of the work is a drop (a sign of overload that shrinks the
   * limit). Other failures are ignored by the algorithm. @default isDropError
   */
  isDrop?: (error: unknown) => boolean
  /** Name used in logs, events and diagnostics. @default 'limiter' */
  name?: string
  /** A pino-compatible logger; limit changes are logged at debug. @default silentLogger */
  logger?: Logger
  /** The clock (tests inject a manual one). @default systemClock */
  clock?: Clock
}

const boundsRefinement = (
  value: { min: number; max: number; initial?: number | undefined },
  ctx: z.RefinementCtx,
) => {
  if (value.min > value.max)
    ctx.addIssue({ code: 'custom', path: ['min'], message: `expected min <= max (max is ${value.max})` })
}

const limiterRefinement = (
  value: { min: number; max: number; maxWaitMs: number; congestedWaitMs?: number | undefined },
  ctx: z.RefinementCtx,
) => {
  boundsRefinement(value, ctx)
  if (value.congestedWaitMs !== undefined && value.congestedWaitMs > value.maxWaitMs)
    ctx.addIssue({
      code: 'custom',
      path: ['congestedWaitMs'],
      message: `expected congestedWaitMs <= maxWaitMs (maxWaitMs is ${value.maxWaitMs})`,
    })
}

/** The options after validation: every default filled in. */
export interface ResolvedAdaptiveLimiterOptions {
  algorithm: LimitAlgorithmSpec
  min: number
  max: number
  initial: number
  maxWaitMs: number
  congestedWaitMs: number
  probe: false | { intervalMs: number; size: number; samples: number }
  maxQueue: number
  partitions: Record<string, number>
  isDrop: (error: unknown) => boolean
  name: string
  logger: Logger
  clock: Clock
}

export const adaptiveLimiterOptionsSchema = z
  .object(
    {
      algorithm: algorithmSchema.default('minrtt'),
      min: positiveInt.default(1),
      max: positiveInt.default(1000),
      initial: positiveInt.default(20),
      maxWaitMs: waitMs.default(100),
      congestedWaitMs: z
        .number({ error: 'expected a finite number >= 0' })
        .nonnegative({ error: 'expected a finite number >= 0' })
        .optional(),
      probe: z
        .union(
          [
            z.literal(false),
            z.strictObject({
              intervalMs: positiveInt.default(30_000),
              size: positiveInt.optional(),
              samples: positiveInt.default(50),
            }),
          ],
          { error: 'expected false or { intervalMs, size, samples } (positive integers)' },
        )
        .default({ intervalMs: 30_000, samples: 50 }),
      maxQueue: z
        .custom<number>(
          (value) =>
            typeof value === 'number' &&
            value >= 0 &&
            (Number.isInteger(value) || value === Number.POSITIVE_INFINITY),
          { error: 'expected an integer >= 0 (Infinity for no bound)' },
        )
        .default(1000),
      partitions: z
        .record(z.string(), z.number({ error: 'expected a share between 0 and 1' }).gt(0).lte(1), {
          error: 'expected an object of partition shares',
        })
        .refine((value) => Object.keys(value).length > 0, { error: 'expected at least one partition' })
        .refine((value) => Object.values(value).reduce((a, b) => a + b, 0) <= 1 + 1e-9, {
          error: 'expected shares that sum to at most 1',
        })
        .default({ default: 1 }),
      isDrop: functionOf<(error: unknown) => boolean>().default(() => isDropError),
      name: z.string({ error: 'expected a string' }).min(1).default('limiter'),
      logger: loggerSchema.default(() => silentLogger),
      clock: clockSchema.default(() => systemClock),
    },
    { error: 'expected an options object' },
  )
  .superRefine(limiterRefinement)
  .transform(
    (value): ResolvedAdaptiveLimiterOptions => ({
      ...value,
      // The default never exceeds a smaller maxWaitMs the caller chose.
      congestedWaitMs: value.congestedWaitMs ?? Math.min(10, value.maxWaitMs),
      // The probe pins the limit to 2 by default, never below `min`.
      probe:
        value.probe === false ? false : { ...value.probe, size: value.probe.size ?? Math.max(value.min, 2) },
    }),
  ) satisfies z.ZodType<ResolvedAdaptiveLimiterOptions, AdaptiveLimiterOptions>

// A key added to the interface but not the schema (or the other way) fails to compile here.
true satisfies OptionsSchemaMatch<typeof adaptiveLimiterOptionsSchema, AdaptiveLimiterOptions>

/**
 * @deprecated Use {@link AdaptiveLimiterOptions} (the limiter is `createAdaptiveLimiter`
 * now); this alias is removed in the next minor.
 */
export type ConcurrencyLimiterOptions = AdaptiveLimiterOptions
