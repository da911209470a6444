import { createRequire } from 'node:module'
import { Writable } from 'node:stream'
import { loadConfig } from '../../examples/corp-astro/src/config.js'
import type { Databases } from '../../examples/corp-astro/src/db/database.js'
import type { AppLogger } from '../../examples/corp-astro/src/logger.js'
import { type RunningServer, startServer } from '../../examples/corp-astro/src/server.js'

// The app's own dependencies, resolved the way the app resolves them: this folder adds
// no dependency of its own (pino, jose, ioredis live in examples/corp-astro).
export const appRequire = createRequire(new URL('../../examples/corp-astro/package.json', import.meta.url))

/** A running in-process Corp Astro with every log line it wrote. */
export interface HostileApp {
  readonly base: string
  readonly running: RunningServer
  /** Every log line (parsed JSON) since start. */
  readonly logs: Record<string, unknown>[]
  /** Raw log text since start: what would reach a log shipper. */
  rawLogs(): string
  /** A fingerprint of every durable table on every database (see {@link snapshot}). */
  snapshot(): Promise<string>
  close(): Promise<void>
}

/**
 * Starts Corp Astro in this process on a free port, with embedded defaults (PGlite,
 * memory stores, astro in-process) unless `env` says otherwise, logging at info into
 * memory so tests can read what a log shipper would receive.
 *
 * @example
 * const app = await startHostileApp({ TRUST_PROXY: 'false' })
 * await fetch(`${app.base}/livez`)
 * await app.close()
 */
export async function startHostileApp(env: Record<string, string> = {}): Promise<HostileApp> {
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    TRUST_PROXY: 'true',
    ASTRO_LATENCY_MS: '0',
    // A shared 2-core box stalls now and then; shedding is the fault suite's business.
    SHED_EVENT_LOOP_DELAY_MS: '5000',
    NOTIFICATION_DELAY_MS: '200',
    ANALYTICS_FLUSH_MS: '50',
    SEED: 'false',
    ADMIN_EMAILS: 'admin@hostile.test',
    ...env,
  })
  let raw = ''
  const logs: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      const text = String(chunk)
      raw += text
      for (const line of text.split('\n')) {
        if (!line) continue
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>)
        } catch {
          logs.push({ unparsed: line })
        }
      }
      done()
    },
  })
  const { pino } = appRequire('pino') as { pino: (options: object, stream: Writable) => AppLogger }
  const logger = pino({ level: 'info', base: { app: 'corp-astro' } }, sink)
  const running = await startServer(config, { logger })
  return {
    base: running.url,
    running,
    logs,
    rawLogs: () => raw,
    // Analytics events are accepted into a buffer and written later by a job, so the
    // buffer's accepted count stands for them: a refused batch must not move it.
    snapshot: async () =>
      `${await snapshot(running.ctx.databases)}\nanalytics.accepted=${running.ctx.analytics.stats().accepted}`,
    close: () => running.close(1_000),
  }
}

// Written only by background jobs, at any moment: not a refused request's doing.
const JOB_TABLES = new Set(['analytics_events', 'notifications'])
// Rows jobs update in place (report status) or successful reads add (daily content):
// their count is compared, not their content.
const COUNTED_TABLES = new Set(['reports', 'content_items'])

/**
 * A fingerprint of the durable state: for every table of every database, its row count
 * and an md5 of its rows (counts only where jobs update rows; tables only jobs write are left out). Equal
 * fingerprints before and after a refused request mean it wrote nothing.
 */
export async function snapshot(databases: Databases): Promise<string> {
  const all = [databases.main, ...databases.shards.map((shard) => shard.primary)]
  const parts = await Promise.all(
    all.map(async (db) => {
      let sql = fingerprints.get(db)
      if (!sql) {
        sql = await fingerprintQuery(db)
        fingerprints.set(db, sql)
      }
      const rows = await db.query<{ name: string; v: string }>(sql)
      return rows.map((row) => `${db.name}.${row.name}=${row.v}`).join('\n')
    }),
  )
  return parts.join('\n')
}

type Db = Databases['main']
const fingerprints = new WeakMap<Db, string>()

/** One query per database (a UNION over its tables), built once: snapshots run around every hostile write. */
async function fingerprintQuery(db: Db): Promise<string> {
  const tables = await db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = $1 AND table_type = 'BASE TABLE' AND table_name NOT LIKE '%migrations%'
     ORDER BY table_name`,
    [db.schema],
  )
  const selects = tables
    .filter(({ name }) => !JOB_TABLES.has(name))
    .map(({ name }) => {
      const qualified = `"${db.schema}"."${name}"`
      return COUNTED_TABLES.has(name)
        ? `SELECT '${name}' AS name, count(*)::text AS v FROM ${qualified}`
        : `SELECT '${name}' AS name, count(*)::text || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS v FROM ${qualified} t`
    })
  return selects.join('\nUNION ALL\n')
}
