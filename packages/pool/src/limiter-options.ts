import type { Clock, Logger } from '@headroom/core'
import { z } from 'zod'
import type { LimitAlgorithmSpec } from './limit-algorithm.js'
import {
  algorithmSchema,
  clockSchema,
  functionSchema,
  loggerSchema,
  nonNegativeNumber,
  positiveInt,
} from './schema.js'

/** Options of {@link createConcurrencyLimiter}. */
export interface ConcurrencyLimiterOptions {
  /** The limit algorithm, by name or `{ name, ...tuning }`. @default 'gradient2' */
  algorithm?: LimitAlgorithmSpec
  /** The limit never goes below this. @default 1 */
  min?: number
  /** The limit never goes above this. @default 1000 */
  max?: number
  /** The limit at start, clamped into `[min, max]`. @default 20 */
  initial?: number
  /**
   * Longest time work waits for a slot before it is refused with a `LimitExceededError`
   * (reason `timeout`). 0 refuses at once when the limit is reached. @default 1000
   */
  maxWaitMs?: number
  /** Most waiting calls (all partitions); more are refused at once (reason `queue-full`). @default 1000 */
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
  /** A pino-compatible logger; limit changes are logged at debug. @default silent */
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

export const limiterOptionsSchema = z
  .object(
    {
      algorithm: algorithmSchema.default('gradient2'),
      min: positiveInt.default(1),
      max: positiveInt.default(1000),
      initial: positiveInt.default(20),
      maxWaitMs: nonNegativeNumber.default(1000),
      maxQueue: z
        .number({ error: 'expected a number' })
        .int({ error: 'expected an integer' })
        .nonnegative({
          error: 'expected an integer >= 0',
        })
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
      isDrop: functionSchema.optional(),
      name: z.string({ error: 'expected a string' }).min(1).default('limiter'),
      logger: loggerSchema.optional(),
      clock: clockSchema.optional(),
    },
    { error: 'expected an options object' },
  )
  .superRefine(boundsRefinement)

export { boundsRefinement }
