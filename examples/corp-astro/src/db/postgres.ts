import pg from 'pg'
import {
  type Database,
  type Databases,
  MIGRATION_LOCK_ID,
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
  /** Called with each new pool, so the adaptive sizer can manage it. */
  onPool?: (name: string, pool: pg.Pool) => void
}

function databaseOn(pool: pg.Pool, name: string, schema: string): Database {
  return {
    name,
    schema,
    async query<Row>(text: string, params?: readonly unknown[]) {
      const result = await pool.query(text, params as unknown[] | undefined)
      return result.rows as Row[]
    },
    async migrate(sql: string) {
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID])
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
        await client.query(`SET LOCAL search_path TO ${schema}`)
        await client.query(sql)
        await client.query('COMMIT')
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {})
        throw error
      } finally {
        client.release()
      }
    },
  }
}

/**
 * Opens the pools: `url` for global data, and one database per shard, either its own
 * URL or, when none are given, a schema per shard inside `url`.
 */
export function openPostgres(options: PostgresOptions): Databases {
  const pools = new Map<string, pg.Pool>()
  const poolFor = (url: string, name: string) => {
    let pool = pools.get(url)
    if (!pool) {
      pool = new pg.Pool({
        connectionString: url,
        max: options.poolMax,
        min: options.poolMin,
        idleTimeoutMillis: 30_000,
        connectionTimeoutMillis: 5_000,
        allowExitOnIdle: true,
      })
      // An idle client losing its connection must not crash the process; the pool replaces it.
      pool.on('error', () => {})
      pools.set(url, pool)
      options.onPool?.(name, pool)
    }
    return pool
  }
  const main = databaseOn(poolFor(options.url, 'main'), 'main', 'public')
  const shards: ShardDatabases[] = Array.from({ length: options.shardCount }, (_, index) => {
    const own = options.shardUrls[index]
    const id = `shard-${index}`
    const primary = own
      ? databaseOn(poolFor(own, id), id, 'public')
      : databaseOn(poolFor(options.url, 'main'), id, shardSchema(index))
    const replicas = (options.replicaUrls[index] ?? []).map((url, r) =>
      databaseOn(poolFor(url, `${id}-replica-${r}`), `${id}-replica-${r}`, primary.schema),
    )
    return { id, primary, replicas }
  })
  return {
    kind: 'postgres',
    main,
    shards,
    async close() {
      await Promise.all([...pools.values()].map((pool) => pool.end().catch(() => {})))
    },
  }
}
