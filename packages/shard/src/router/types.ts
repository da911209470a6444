// The router's public contract, apart from the factory, so each piece of the
// implementation can name the shapes it fills in without importing the router.
import type { Subscribable } from '@headroom/core'
import type { ImbalanceReport } from '../placement/imbalance.js'
import type { ShardLayout } from '../placement/layout.js'
import type { ShardRouterEvents } from './events.js'
import type { Shard, ShardSpec } from './shard-spec.js'
import type { ShardRouterStats } from './stats.js'
import type { TopologyPlan } from './topology-plan.js'

/** How to route one call. */
export interface RouteOptions {
  /** A write goes to the primary. @default false */
  write?: boolean
  /** The caller's session (user id, session id) for read-your-writes. @default undefined */
  session?: string
  /** The caller's tier, for replicas reserved per tier. @default undefined */
  tier?: string
  /** The client key of the `ip-hash` balancer. @default the routing key when it is a string */
  clientKey?: string
}

/** Where a call goes. */
export interface Route<T> {
  shard: Shard<T>
  target: T
  role: 'primary' | 'replica'
}

/** Routes keys to shards and calls to targets. */
export interface ShardRouter<T, K = string> extends Subscribable<ShardRouterEvents<T>> {
  /** The shards, in list order. */
  readonly shards: readonly Shard<T>[]
  /** The shard of a key: deterministic across processes; no allocation with the hash strategy. */
  shardFor(key: K): Shard<T>
  /** The shard with this id; throws {@link UnknownShardError}. */
  shard(id: string): Shard<T>
  /**
   * The target of one call: the primary for writes, a healthy replica for reads (the
   * primary within the read-your-writes window of the session, or when no replica is
   * healthy). Throws {@link ShardUnavailableError} when nothing healthy can serve it.
   */
  route(key: K, options?: RouteOptions): Route<T>
  /** Routes, runs `fn` on the target, and feeds the replica balancer (in flight, latency). */
  run<R>(key: K, fn: (target: T, shard: Shard<T>) => R | Promise<R>, options?: RouteOptions): Promise<R>
  /**
   * Runs `fn` once per shard (fan-out) and resolves with the results in shard order;
   * rejects with an AggregateError naming the shards that failed.
   */
  forEachShard<R>(
    fn: (target: T, shard: Shard<T>) => R | Promise<R>,
    options?: Omit<RouteOptions, 'clientKey'> & { concurrency?: number },
  ): Promise<R[]>
  /** The exact moves a new shard list causes (hash strategy). Changes nothing. */
  plan(next: readonly ShardSpec<T>[]): TopologyPlan<T>
  /** Switches to a plan's topology, atomically for lookups; throws {@link StalePlanError} if the topology changed since. */
  apply(plan: TopologyPlan<T>): void
  /** `apply(plan([...shards, spec]))`. */
  addShard(spec: ShardSpec<T>): TopologyPlan<T>
  /** `apply(plan(shards without id))`. */
  removeShard(id: string): TopologyPlan<T>
  /** The current placement, to persist and pass back as `layout` (hash strategy). */
  layout(): ShardLayout
  /** Load per shard against its weight (hash strategy). */
  imbalance(): ImbalanceReport
  /** Takes a target (primary or replica) out of routing for `reason` (e.g. its breaker opened). */
  eject(target: T, reason?: string): void
  /** Puts a target back for `reason`; it serves again once no reason is left. */
  readmit(target: T, reason?: string): void
  /**
   * A replica's replication lag: past `maxReplicaLagMs` it is skipped for reads until it
   * catches up. `replayedAt` (router clock, ms) is when the primary last held only what
   * the replica has replayed; once given, a session that wrote reads this replica only
   * after it replayed past the write (see `readYourWritesMs`). {@link watchReplicaLag}
   * measures both on Postgres and reports them on a schedule.
   */
  reportLag(target: T, lagMs: number, options?: { replayedAt?: number }): void
  isHealthy(target: T): boolean
  stats(): ShardRouterStats
}
