import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { postgresUrl, serviceMissing } from './services.js'

/** A database created for one suite and dropped after it. */
export interface TestDatabase {
  readonly name: string
  /** Connection string to the database. */
  readonly url: string
  /** Drops the database (closing any connection still open to it). */
  drop(): Promise<void>
}

/** True when Postgres answered at start; logs (or, in CI, throws) otherwise. */
export function postgresAvailable(): boolean {
  return (
    process.env.HEADROOM_TEST_POSTGRES === '1' ||
    serviceMissing('Postgres', `nothing answers at ${postgresUrl()}`)
  )
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresUrl() })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/**
 * Creates a fresh, uniquely named database on the test Postgres server.
 *
 * @example
 * const db = await createTestDatabase('shard')
 * const pool = new pg.Pool({ connectionString: db.url })
 * // ...
 * await pool.end(); await db.drop()
 */
export async function createTestDatabase(label = 't'): Promise<TestDatabase> {
  const name = `headroom_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`
  await withAdmin((client) => client.query(`CREATE DATABASE "${name}"`))
  const url = new URL(postgresUrl())
  url.pathname = `/${name}`
  return {
    name,
    url: url.toString(),
    async drop() {
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))
    },
  }
}
