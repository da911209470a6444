import { createPgQueries } from '@headroom/pool/pg'
import pg from 'pg'
import {
  type Database,
  type Databases,
  MIGRATION_LOCK_ID,
  type PoolCounts,
  type ShardDatabases,
  shardSchema,
} from './database.js'

// DATE columns stay 'YYYY-MM-DD' strings: a JS Date would shift them by the server's time zone.
pg.types.setTypeParser(1082, (value) => value)

/** Options for the Postgres databases. */
export interface PostgresOptions {
  url: string
  shardUrls: readonly string[]
  replicaUrls: readonly (readonly string[])[]
  shardCount: number
  poolMin: number
  poolMax: number
  // The app always passes the three deadlines (from its config); tools that bulk-load
  // data (the load test's seeding) may leave them out and wait as long as it takes.
  /** Longest wait for a connection (a new one, or a free one from a full pool), ms. @default no limit */
  connectTimeoutMs?: number
  /** Server-side `statement_timeout` of every session, ms. @default none */
  statementTimeoutMs?: number
  /** Client-side deadline of every query once sent, ms (the connection is then discarded). @default none */
  queryTimeoutMs?: number
  /** Called with each new pool, so the adaptive sizer can manage it. */
  onPool?: (name: string, pool: pg.Pool) => void
}

/**
 * A request that meets a serialization failure, a deadlock or a connection the server
 * dropped (a restart, a failover) runs again after a short backoff; anything else (a
 * constraint violation, a statement past statement_timeout) fails at once. Two retries
 * keep a request's worst case well inside its deadline.
 */
const REQUEST_RETRIES = 2

function databaseOn(pool: pg.Pool, name: string, schema: string, migrationPool: () => pg.Pool): Database {
  const queries = createPgQueries(pool, {
    retries: REQUEST_RETRIES,
    minRetryDelayMs: 20,
    maxRetryDelayMs: 200,
  })
  return {
    name,
    schema,
    async query<Row>(text: string, params?: readonly unknown[]) {
      try {
        const result = await queries.query(text, params)
        return result.rows as Row[]
      } catch (error) {
        // Which of the five databases failed, for the logs (the error itself is pg's).
        if (error instanceof Error) Object.assign(error, { database: name })
        throw error
      }
    },
    async migrate(sql: string) {
      // Its own one-connection pool, without the request paths' deadlines: waiting for
      // another process's migration under the advisory lock, or a long DDL, is expected
      // here. The helper rolls back on failure and runs it again on a deadlock.
      const own = migrationPool()
      try {
        await createPgQueries(own).transaction(async (tx) => {
          await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID])
          await tx.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
          await tx.query(`SET LOCAL search_path TO ${schema}`)
          await tx.query(sql)
        })
      } finally {
        await own.end().catch(() => {})
      }
    },
  }
}

/**
 * Opens the pools: `url` for global data, and one database per shard, either its own
 * URL or, when none are given, a schema per shard inside `url`.
 */
export function openPostgres(options: PostgresOptions): Databases {
  // One pool per URL, named after the first database that uses it.
  const pools = new Map<string, { name: string; pool: pg.Pool }>()
  const poolFor = (url: string, name: string) => {
    let pool = pools.get(url)?.pool
    if (!pool) {
      pool = new pg.Pool({
        connectionString: url,
        max: options.poolMax,
        min: options.poolMin,
        idleTimeoutMillis: 30_000,
        // Bounds both a new connection and the wait for a free one when the pool is full.
        connectionTimeoutMillis: options.connectTimeoutMs ?? 0,
        // The server cancels a statement past this (SQLSTATE 57014) and the connection stays usable.
        statement_timeout: options.statementTimeoutMs ?? false,
        // A network path that hangs never lets the server's timeout reach us: the client
        // gives up too, and pg-pool discards the connection instead of keeping it busy forever.
        ...(options.queryTimeoutMs ? { query_timeout: options.queryTimeoutMs } : {}),
        allowExitOnIdle: true,
      })
      // An idle client losing its connection must not crash the process; the pool replaces it.
      pool.on('error', () => {})
      pools.set(url, { name, pool })
      options.onPool?.(name, pool)
    }
    return pool
  }
  const on = (url: string, name: string, schema: string) =>
    databaseOn(poolFor(url, name), name, schema, () => {
      const pool = new pg.Pool({
        connectionString: url,
        max: 1,
        connectionTimeoutMillis: options.connectTimeoutMs ?? 0,
      })
      pool.on('error', () => {})
      return pool
    })
  const main = on(options.url, 'main', 'public')
  const shards: ShardDatabases[] = Array.from({ length: options.shardCount }, (_, index) => {
    const own = options.shardUrls[index]
    const id = `shard-${index}`
    const primary = own ? on(own, id, 'public') : on(options.url, id, shardSchema(index))
    const replicas = (options.replicaUrls[index] ?? []).map((url, r) =>
      on(url, `${id}-replica-${r}`, primary.schema),
    )
    return { id, primary, replicas }
  })
  return {
    kind: 'postgres',
    main,
    shards,
    openShard: (id, url) => ({ id, primary: on(url, id, 'public'), replicas: [] }),
    pools() {
      const stats: Record<string, PoolCounts> = {}
      for (const { name, pool } of pools.values()) {
        stats[name] = { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }
      }
      return stats
    },
    async close() {
      await Promise.all([...pools.values()].map(({ pool }) => pool.end().catch(() => {})))
    },
  }
}
