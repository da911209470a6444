import { type Clock, createCallOptionsCheck, type Logger, silentLogger, systemClock } from '@headroom/core'
import { z } from 'zod'
import { type BalancerStrategy, balancerStrategySchema } from '../balancer/options.js'
import { layoutSchema, type ShardLayout } from '../placement/layout.js'
import { MAX_LOGICAL_SHARDS } from '../placement/placement.js'
import { clockSchema, fnSchema, loggerSchema, optionsSchema } from '../shared/options.js'
import type { ShardStrategy } from '../strategies/strategy.js'
import { type ShardSpec, topologySchema } from './shard-spec.js'

/** Options of {@link createShardRouter}. */
export interface ShardRouterOptions<T, K> {
  /**
   * The shards, in placement order: with the hash strategy, append new shards at the end
   * (the placement is the list's shards added one by one, so an appended shard takes
   * only its share and nothing else moves).
   */
  shards: readonly ShardSpec<T>[]
  /**
   * `'hash'`: key → murmur3 → logical shard → physical shard (weighted, consistent).
   * Or a {@link rangeStrategy}, {@link directoryStrategy} or {@link compositeStrategy}.
   * @default 'hash'
   */
  strategy?: 'hash' | ShardStrategy<K>
  /**
   * Logical shards (hash slots). Fixed for the life of the data: changing it re-maps
   * every key. Each shard's share is honoured within one logical shard, so keep
   * `logicalShards / shards` above 100 for 1 % accuracy.
   * @default 65536
   */
  logicalShards?: number
  /** Hash seed; part of the placement, like `logicalShards`. @default 0 */
  seed?: number
  /**
   * A stored placement ({@link ShardRouter.layout}) to start from, so a topology reached
   * by removals or weight changes survives restarts. Shards missing from `shards` are
   * removed, new ones added, weights applied, exactly as `plan()` would.
   * @default undefined (the canonical placement of `shards`)
   */
  layout?: ShardLayout
  /** How reads are spread over a shard's replicas. @default 'round-robin' */
  balancer?: BalancerStrategy
  /** Tier routing over replicas: replicas reserved per tier (see `createBalancer`). @default {} */
  reserved?: Record<string, readonly T[]>
  /**
   * After a write with a `session`, that session's reads of the same shard go to the
   * primary for this long, so it reads its own writes despite replica lag. 0 disables.
   * When replicas report their replay (`reportLag` with `replayedAt`, as
   * {@link watchReplicaLag} does), the session then reads a replica only once it has
   * replayed what the primary held at the end of this window; a write is expected to
   * commit within it (`run` marks the write again when it settles).
   * @default 1000
   */
  readYourWritesMs?: number
  /** Most sessions remembered for read-your-writes (oldest dropped first). @default 100000 */
  maxSessions?: number
  /**
   * A replica whose lag (`reportLag`, or measured by {@link watchReplicaLag}) exceeds this
   * is skipped for reads, in ms. @default 5000
   */
  maxReplicaLagMs?: number
  /** Reads go to the primary when no replica is healthy. @default true */
  fallbackToPrimary?: boolean
  /** `imbalance().balanced` is false when a shard holds more than this times its share. @default 1.05 */
  imbalanceThreshold?: number
  /** @default systemClock */
  clock?: Clock
  /** @default silentLogger */
  logger?: Logger
  /** Random source of the `p2c-ewma` balancer. @default Math.random */
  random?: () => number
}

/** The options once parsed: every default filled in. */
export type ResolvedShardRouterOptions = Required<Omit<ShardRouterOptions<unknown, unknown>, 'layout'>> &
  Pick<ShardRouterOptions<unknown, unknown>, 'layout'> & { shards: Required<ShardSpec<unknown>>[] }

export const routerOptionsSchema = optionsSchema<
  ShardRouterOptions<unknown, unknown>,
  ResolvedShardRouterOptions
>()(
  z.object({
    shards: topologySchema,
    strategy: z
      .union([
        z.literal('hash'),
        z.custom<ShardStrategy<unknown>>(
          (v) => typeof v === 'object' && v !== null && typeof (v as { bind?: unknown }).bind === 'function',
          "expected 'hash' or a strategy from rangeStrategy/directoryStrategy/compositeStrategy",
        ),
      ])
      .default('hash'),
    logicalShards: z
      .number()
      .int('expected an integer')
      .min(1, 'expected at least 1')
      .max(MAX_LOGICAL_SHARDS, `expected at most ${MAX_LOGICAL_SHARDS}`)
      .default(65_536),
    seed: z.number().int('expected an integer').default(0),
    layout: layoutSchema.optional(),
    balancer: balancerStrategySchema.default('round-robin'),
    reserved: z.record(z.string(), z.array(z.any())).default({}),
    readYourWritesMs: z.number().finite().min(0, 'expected 0 or more ms').default(1000),
    maxSessions: z.number().int().positive('expected a positive integer').default(100_000),
    maxReplicaLagMs: z.number().min(0, 'expected 0 or more ms').default(5000),
    fallbackToPrimary: z.boolean().default(true),
    imbalanceThreshold: z.number().min(1, 'expected 1 or more').default(1.05),
    clock: clockSchema.default(() => systemClock),
    logger: loggerSchema.default(() => silentLogger),
    random: fnSchema<() => number>().default(() => Math.random),
  }),
)

// Per-call options sit on the routing hot path: a typeof and a loop over the keys given, no zod.
const routeShape = { write: 'boolean', session: 'string', tier: 'string', clientKey: 'string' } as const
export const checkRouteOptions = createCallOptionsCheck('route', routeShape)
export const checkRunOptions = createCallOptionsCheck('run', routeShape)
export const checkForEachShardOptions = createCallOptionsCheck('forEachShard', {
  write: 'boolean',
  session: 'string',
  tier: 'string',
  concurrency: 'number',
})
