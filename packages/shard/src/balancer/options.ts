import { type Clock, type Logger, silentLogger, systemClock } from '@headroom/core'
import { z } from 'zod'
import { clockSchema, fnSchema, loggerSchema, optionsSchema } from '../shared/options.js'

/** How a balancer picks among healthy targets. */
export type BalancerStrategy = 'round-robin' | 'least-connections' | 'p2c-ewma' | 'ip-hash'

/** Options of {@link createBalancer}. */
export interface BalancerOptions<T> {
  /** The targets (replicas, backends). Any value: a URL, a pg Pool, a client. Compared by identity. */
  targets: readonly T[]
  /**
   * `round-robin`; `least-connections` (fewest in flight, ties rotate); `p2c-ewma`
   * (power of two random choices on peak-EWMA latency x (in flight + 1)); `ip-hash`
   * (rendezvous on `context.key`: a client sticks to one target, and ejecting a target
   * moves only its clients).
   * @default 'round-robin'
   */
  strategy?: BalancerStrategy
  /**
   * Tier routing: targets reserved for a tier, e.g. `{ premium: [replicaA] }`. A pick
   * with `{ tier: 'premium' }` uses those; every other pick uses the targets no tier
   * reserved.
   * @default {}
   */
  reserved?: Record<string, readonly T[]>
  /** A tier whose reserved targets are all ejected spills onto the shared ones. @default true */
  spill?: boolean
  /**
   * A stable name per target, for `ip-hash` (so every process maps a client to the same
   * target) and for `stats()`.
   * @default String(target) for strings and numbers, else `#<index>`
   */
  idOf?: (target: T, index: number) => string
  /** Time constant of the latency EWMA, in ms. @default 10000 */
  decayMs?: number
  /** Latency recorded for a failed call when it failed faster than this, in ms. @default 1000 */
  failurePenaltyMs?: number
  /** Random source of `p2c-ewma` (inject a seeded one in tests). @default Math.random */
  random?: () => number
  /** @default systemClock */
  clock?: Clock
  /** @default silentLogger */
  logger?: Logger
}

export const balancerStrategySchema = z.enum(['round-robin', 'least-connections', 'p2c-ewma', 'ip-hash'], {
  error: 'expected one of round-robin, least-connections, p2c-ewma, ip-hash',
})

/** A target's default name: itself for strings and numbers, else its position. */
const defaultIdOf = (target: unknown, index: number) =>
  typeof target === 'string' || typeof target === 'number' ? String(target) : `#${index}`

/** The options once parsed: every default filled in. */
export type ResolvedBalancerOptions = Required<BalancerOptions<unknown>>

export const balancerOptionsSchema = optionsSchema<BalancerOptions<unknown>, ResolvedBalancerOptions>()(
  z.object({
    targets: z.array(z.any(), { error: 'expected an array of targets' }),
    strategy: balancerStrategySchema.default('round-robin'),
    reserved: z.record(z.string(), z.array(z.any())).default({}),
    spill: z.boolean().default(true),
    idOf: fnSchema<(target: unknown, index: number) => string>().default(() => defaultIdOf),
    decayMs: z.number().positive('expected a positive number of ms').finite().default(10_000),
    failurePenaltyMs: z.number().min(0, 'expected 0 or more ms').finite().default(1000),
    random: fnSchema<() => number>().default(() => Math.random),
    clock: clockSchema.default(() => systemClock),
    logger: loggerSchema.default(() => silentLogger),
  }),
)
