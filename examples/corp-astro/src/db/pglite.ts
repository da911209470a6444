import { PGlite } from '@electric-sql/pglite'
import { type Database, type Databases, type ShardDatabases, shardSchema } from './database.js'

/**
 * The embedded database: one PGlite instance in this process, each shard a schema in
 * it (one instance costs seconds to start and hundreds of MB, so not one per shard).
 * PGlite runs one query at a time; the app's code path is the same as on Postgres.
 */
export async function openPglite(options: { dataDir?: string; shardCount: number }): Promise<Databases> {
  const db = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    // DATE columns stay 'YYYY-MM-DD' strings, as with pg.
    parsers: { 1082: (value: string) => value },
  })
  const on = (name: string, schema: string): Database => ({
    name,
    schema,
    async query<Row>(text: string, params?: readonly unknown[]) {
      const result = await db.query<Row>(text, params as unknown[] | undefined)
      return result.rows
    },
    async migrate(sql: string) {
      await db.transaction(async (tx) => {
        await tx.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET LOCAL search_path TO ${schema};`)
        await tx.exec(sql)
      })
    },
  })
  const shards: ShardDatabases[] = Array.from({ length: options.shardCount }, (_, index) => ({
    id: `shard-${index}`,
    primary: on(`shard-${index}`, shardSchema(index)),
    replicas: [],
  }))
  return {
    kind: 'pglite',
    main: on('main', 'public'),
    shards,
    pools: () => ({}),
    async close() {
      await db.close()
    },
  }
}
