import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Database, Databases } from './database.js'

const MIGRATIONS = fileURLToPath(new URL('../../migrations/', import.meta.url))

async function load(folder: 'main' | 'shard'): Promise<{ name: string; sql: string }[]> {
  const dir = `${MIGRATIONS}${folder}/`
  const names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort()
  return Promise.all(names.map(async (name) => ({ name, sql: await readFile(`${dir}${name}`, 'utf8') })))
}

const bookkeeping = `CREATE TABLE IF NOT EXISTS schema_migrations (
  name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());`

/**
 * Applies the pending SQL files to one database, each in a transaction under an
 * advisory lock. The files are idempotent (IF NOT EXISTS / ON CONFLICT), so two
 * processes migrating at once converge instead of failing.
 */
async function migrateOne(db: Database, files: { name: string; sql: string }[]): Promise<string[]> {
  await db.migrate(bookkeeping)
  const done = new Set(
    (await db.query<{ name: string }>(`SELECT name FROM ${db.schema}.schema_migrations`)).map(
      (row) => row.name,
    ),
  )
  const applied: string[] = []
  for (const file of files) {
    if (done.has(file.name)) continue
    const name = file.name.replace(/'/g, "''")
    await db.migrate(
      `${file.sql}\nINSERT INTO schema_migrations (name) VALUES ('${name}') ON CONFLICT DO NOTHING;`,
    )
    applied.push(`${db.name}/${file.name}`)
  }
  return applied
}

/** Migrates one shard database (a shard about to join through an online move). */
export async function migrateShard(db: Database): Promise<string[]> {
  return migrateOne(db, await load('shard'))
}

/**
 * Migrates the main database and every shard (primaries only: replicas follow them).
 *
 * @example
 * const applied = await migrate(databases)
 */
export async function migrate(databases: Databases): Promise<string[]> {
  const [main, shard] = await Promise.all([load('main'), load('shard')])
  const applied = await migrateOne(databases.main, main)
  // One at a time: on PGlite they share one instance, on Postgres they are few.
  for (const each of databases.shards) applied.push(...(await migrateOne(each.primary, shard)))
  return applied
}
