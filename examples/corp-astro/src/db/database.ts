/**
 * What the repositories need from a database: parameterised queries, and a
 * transaction for migrations. Postgres (pg) and PGlite both implement it, so the
 * app code never knows which one it talks to.
 */
export interface Database {
  /** `main`, `shard-0`, `shard-0-replica-1`... (logs and metrics). */
  readonly name: string
  /** The schema every table name is qualified with (`public`, or `shard_0` when shards share a server). */
  readonly schema: string
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<Row[]>
  /** Runs `sql` (several statements) in one transaction under an advisory lock, with `search_path` on the schema. */
  migrate(sql: string): Promise<void>
}

/** One shard: a primary for writes and optional replicas for reads. */
export interface ShardDatabases {
  readonly id: string
  readonly primary: Database
  readonly replicas: readonly Database[]
}

/** Connections of one pool right now. */
export interface PoolCounts {
  /** Open or opening connections. */
  total: number
  /** Open and free. */
  idle: number
  /** Queries waiting for a connection. */
  waiting: number
}

/** Every database the app uses. */
export interface Databases {
  readonly kind: 'pglite' | 'postgres'
  /** Global data: content templates. */
  readonly main: Database
  readonly shards: readonly ShardDatabases[]
  /**
   * Opens a shard database that joined after start (an online shard move added it),
   * with the same pool settings as the others. Postgres only.
   */
  openShard?(id: string, url: string): ShardDatabases
  /** Each connection pool by the name of its first database (none on PGlite). */
  pools(): Record<string, PoolCounts>
  close(): Promise<void>
}

/** A schema name for shard `index` when shards share one server. */
export const shardSchema = (index: number) => `shard_${index}`

// One constant for every process: migrations from many workers or test runs never interleave.
export const MIGRATION_LOCK_ID = 7_314_159
