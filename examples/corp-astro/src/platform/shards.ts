import {
  createShardRouter,
  type ShardLayout,
  type ShardRouter,
  type ShardRouterStats,
  watchReplicaLag,
} from '@headroom/shard'
import type { Database, ShardDatabases } from '../db/database.js'

/** Where the app's sharded data lives. */
export interface Shards {
  /** The primary holding a user's rows (writes, and reads that must see them). */
  forUser(userId: string): Database
  /** A database to read a user's rows from: a replica, unless the user wrote within the last second (or, with `measureLag`, the replica has not replayed that write yet). */
  forUserRead(userId: string): Database
  /** The primary holding an email's directory entry. */
  forEmail(email: string): Database
  /** Every shard, for maintenance. */
  all(): readonly ShardDatabases[]
  /** Runs `fn` on every shard's primary at once; resolves in shard order. */
  forEachShard<R>(fn: (db: Database) => Promise<R>): Promise<R[]>
  /** The router in use now (replaced when the topology changes). */
  readonly router: ShardRouter<Database, string>
  stats(): ShardRouterStats
  /**
   * Routes by a new committed topology (a shard added, logical shards moved): the next
   * call uses it, calls in flight finish where they were routed.
   */
  update(shards: readonly ShardDatabases[], layout: ShardLayout): void
  /** Stops the replica lag probe. */
  close(): void
}

/** Options of {@link createShards}. */
export interface ShardsOptions {
  /**
   * Measure each replica's lag every second (Postgres WAL positions) and take one that
   * is paused, unreachable or more than 5 s behind out of the read rotation. Off for
   * one-shot tools (seeding), on for the app. @default false
   */
  measureLag?: boolean
  /** The committed placement of logical shards, when it is not the initial one. */
  layout?: ShardLayout
}

/**
 * Users and their data sharded across the databases with `@headroom/shard`: the user
 * id hashes (murmur3) into 65,536 logical shards placed on the physical ones, so the
 * mapping is the same in every process. With one database per shard the placement is
 * the committed topology in the main database: `pnpm shard:add <url>` adds a database
 * and moves a fifth of the users' rows to it online (`@headroom/shard/postgres`), and
 * every process routes by each new version as it commits. Reads go to a replica when
 * one is configured, except right after the same user wrote (read-your-writes), and,
 * with `measureLag`, only to a replica that has replayed that user's write.
 */
export function createShards(shards: readonly ShardDatabases[], options: ShardsOptions = {}): Shards {
  const build = (list: readonly ShardDatabases[], placed: ShardLayout | undefined) =>
    createShardRouter<Database, string>({
      shards: list.map((shard) => ({ id: shard.id, primary: shard.primary, replicas: shard.replicas })),
      strategy: 'hash',
      balancer: 'round-robin',
      readYourWritesMs: 1_000,
      maxReplicaLagMs: 5_000,
      ...(placed ? { layout: placed } : {}),
    })
  // Database.query resolves with the rows, which the probe's default query accepts.
  const watch = (list: readonly ShardDatabases[], on: ShardRouter<Database, string>) =>
    options.measureLag && list.some((shard) => shard.replicas.length > 0)
      ? watchReplicaLag(on, { intervalMs: 1_000 })
      : undefined
  let current = shards
  let router = build(shards, options.layout)
  let probe = watch(shards, router)
  return {
    // Anything that might write marks the session, so the user's next reads see it.
    forUser: (userId) => router.route(userId, { write: true, session: userId }).target,
    forUserRead: (userId) => router.route(userId, { session: userId }).target,
    forEmail: (email) => router.route(`email:${email}`, { write: true }).target,
    all: () => current,
    forEachShard: (fn) => router.forEachShard((db) => fn(db), { write: true }),
    get router() {
      return router
    },
    stats: () => router.stats(),
    update(next, placed) {
      // The probe feeds one router: the new one gets its own.
      probe?.close()
      router = build(next, placed)
      current = next
      probe = watch(next, router)
    },
    close: () => probe?.close(),
  }
}
