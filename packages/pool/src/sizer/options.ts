import { type Clock, type Logger, type OptionsSchemaMatch, silentLogger, systemClock } from '@headroom/core'
import { z } from 'zod'
import type { LimitAlgorithmSpec } from '../algorithms/limit-algorithm.js'
import { algorithmSchema } from '../algorithms/schema.js'
import { clockSchema, loggerSchema, positiveInt } from '../shared/schema.js'
import type { GenericPoolLike } from '../targets/generic-pool-target.js'
import type { PgPoolLike } from '../targets/pg-pool-target.js'
import type { PoolTarget } from '../targets/pool-target.js'
import { toTarget } from '../targets/to-pool-target.js'

/** Options of {@link createPoolSizer}. */
export interface PoolSizerOptions {
  /**
   * The pool to size: a `pg.Pool`, a generic-pool pool (both detected), or any
   * {@link PoolTarget} (e.g. `pgPoolTarget(pool, { isDrop })`).
   */
  target: PoolTarget | PgPoolLike | GenericPoolLike
  /** The limit algorithm, by name or `{ name, ...tuning }`. @default 'vegas' */
  algorithm?: LimitAlgorithmSpec
  /** Fewest connections (the pool's own `min` also applies). @default 1 */
  min?: number
  /** Most connections. @default 100 */
  max?: number
  /** Size at start. @default the pool's current max */
  initial?: number
  /** One sizing decision per interval, from the checkouts seen during it. @default 250 */
  intervalMs?: number
  /**
   * Processes sharing the database with the same pool: the size never exceeds
   * `floor(max_connections / instances)`. @default 1
   */
  instances?: number
  /**
   * The database's `max_connections`. When omitted, the target is asked (pg: `SHOW
   * max_connections`) and asked again each interval until it answers. @default asked
   */
  maxConnections?: number
  /**
   * Connections per process kept out of the `max_connections` share (for migrations,
   * admin sessions, a second pool). @default 0
   */
  reserved?: number
  /**
   * No-load RTT probes, as in Envoy's adaptive concurrency filter: at start and then about
   * every `intervalMs` (+/- 15 % jitter) the pool is pinned to `size` connections until it
   * has drained to that size and one interval of queries ran on it; their mean latency is
   * the RTT without contention that Vegas and Gradient2 compare against. Without it an
   * algorithm that starts on an oversized pool never sees an uncontended query, and keeps
   * the pool too large. `false` disables probing.
   * The size is raised to the sizer's `min` (and the pool's own) when below it.
   * @default { intervalMs: 30000, size: 2 }
   */
  probe?: false | { intervalMs?: number; size?: number }
  /** Name used in logs, events and diagnostics. @default the target's kind */
  name?: string
  /** A pino-compatible logger; every resize is logged at debug. @default silentLogger */
  logger?: Logger
  /** The clock (tests inject a manual one). @default systemClock */
  clock?: Clock
}

/** The options after validation: every default filled in, the target adapted. */
export interface ResolvedPoolSizerOptions {
  target: PoolTarget
  algorithm: LimitAlgorithmSpec
  min: number
  max: number
  initial: number
  intervalMs: number
  instances: number
  maxConnections?: number
  reserved: number
  probe: false | { intervalMs: number; size: number }
  name: string
  logger: Logger
  clock: Clock
}

export const poolSizerOptionsSchema = z
  .object(
    {
      target: z.custom<PoolSizerOptions['target']>((value) => typeof value === 'object' && value !== null, {
        error: 'expected a pg Pool, a generic-pool pool or a PoolTarget',
      }),
      algorithm: algorithmSchema.default('vegas'),
      min: positiveInt.default(1),
      max: positiveInt.default(100),
      initial: positiveInt.optional(),
      intervalMs: positiveInt.default(250),
      instances: positiveInt.default(1),
      maxConnections: positiveInt.optional(),
      reserved: z
        .number({ error: 'expected a number' })
        .int({ error: 'expected an integer' })
        .nonnegative({
          error: 'expected an integer >= 0',
        })
        .default(0),
      probe: z
        .union(
          [
            z.literal(false),
            z.object({ intervalMs: positiveInt.default(30_000), size: positiveInt.default(2) }),
          ],
          { error: 'expected false or { intervalMs, size }' },
        )
        .default({ intervalMs: 30_000, size: 2 }),
      name: z.string({ error: 'expected a string' }).min(1).optional(),
      logger: loggerSchema.default(() => silentLogger),
      clock: clockSchema.default(() => systemClock),
    },
    { error: 'expected an options object' },
  )
  .superRefine((value, ctx) => {
    if (value.min > value.max)
      ctx.addIssue({ code: 'custom', path: ['min'], message: `expected min <= max (max is ${value.max})` })
    if (value.initial !== undefined && (value.initial < value.min || value.initial > value.max))
      ctx.addIssue({
        code: 'custom',
        path: ['initial'],
        message: `expected initial between min (${value.min}) and max (${value.max})`,
      })
  })
  .transform((value): ResolvedPoolSizerOptions => {
    const target = toTarget(value.target)
    return {
      ...value,
      target,
      // Defaults that depend on the pool: its kind names the sizer, its max is the size at start.
      name: value.name ?? target.kind,
      initial: value.initial ?? target.snapshot().max,
    }
  }) satisfies z.ZodType<ResolvedPoolSizerOptions, PoolSizerOptions>

// A key added to the interface but not the schema (or the other way) fails to compile here.
true satisfies OptionsSchemaMatch<typeof poolSizerOptionsSchema, PoolSizerOptions>
