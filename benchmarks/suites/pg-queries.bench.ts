import { createPgQueries } from '@headroom/pool/pg'
import { createTestDatabase, type TestDatabase } from '@headroom/testing'
import pg from 'pg'
import { type BenchGroup, defineSuite, type Measurement } from '../src/suite.js'

/** Rows per bulk-insert round: each task inserts them into an empty table. */
const ROWS = 20_000
/** Rows per statement of the bare multi-row INSERT peer. */
const CHUNK = 1_000

let db: TestDatabase | undefined
let pool: pg.Pool | undefined

interface EventRow {
  id: number
  kind: string
  payload: string
  at: Date
}

const at = new Date('2026-01-01T00:00:00Z')
const rows: EventRow[] = Array.from({ length: ROWS }, (_, i) => ({
  id: i,
  kind: i % 2 ? 'odd' : 'even',
  payload: JSON.stringify({ i }),
  at,
}))

/** Empties the table, runs `insert`, and checks every row arrived. */
async function timedInsert(insert: () => Promise<void>): Promise<Measurement> {
  await pool!.query('TRUNCATE events')
  const started = performance.now()
  await insert()
  const ms = performance.now() - started
  const { rows: counted } = await pool!.query<{ n: number }>('SELECT count(*)::int AS n FROM events')
  if (counted[0]!.n !== ROWS) throw new Error(`expected ${ROWS} rows in events, found ${counted[0]!.n}`)
  return { ops: ROWS, ms }
}

async function multiRowInsert(client: pg.PoolClient, start: number, end: number) {
  const values: unknown[] = []
  const tuples: string[] = []
  for (let i = start; i < end; i++) {
    const row = rows[i]!
    const base = values.length
    tuples.push(`($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4})`)
    values.push(row.id, row.kind, row.payload, row.at)
  }
  await client.query(`INSERT INTO events (id, kind, payload, at) VALUES ${tuples.join(', ')}`, values)
}

export default defineSuite({
  name: 'pg-queries',
  requires: ['postgres'],
  async setup(): Promise<BenchGroup[]> {
    db = await createTestDatabase('bench_pgq')
    pool = new pg.Pool({ connectionString: db.url, max: 4 })
    await pool.query(
      'CREATE UNLOGGED TABLE events (id int PRIMARY KEY, kind text, payload jsonb, at timestamptz)',
    )
    const bare = pool
    const queries = createPgQueries(bare)
    let n = 0
    const check = (result: unknown) => {
      const value = (result as { rows: { v: number }[] }).rows[0]?.v
      if (typeof value !== 'number') throw new Error('the query returned no row')
    }
    return [
      {
        name: 'pg: one simple query (select $1::int), sequential',
        baseline: 'pg.Pool query (peer)',
        tasks: {
          'pg.Pool query (peer)': () => bare.query('SELECT $1::int AS v', [n++ & 1023]),
          'createPgQueries query': () => queries.query('SELECT $1::int AS v', [n++ & 1023]),
          'createPgQueries query, timeoutMs': () =>
            queries.query('SELECT $1::int AS v', [n++ & 1023], { timeoutMs: 5_000 }),
        },
        check,
        notes: [
          'The helper adds retry bookkeeping to every call; with timeoutMs it runs the statement in a transaction of its own under SET LOCAL statement_timeout (two more round trips), so the server cancels it past the timeout.',
        ],
      },
      {
        name: `pg: insert ${ROWS.toLocaleString('en')} rows (4 columns) into an empty table`,
        baseline: `multi-row INSERT, ${CHUNK} rows a statement (peer)`,
        tasks: {
          [`multi-row INSERT, ${CHUNK} rows a statement (peer)`]: {
            measure: () =>
              timedInsert(async () => {
                const client = await bare.connect()
                try {
                  await client.query('BEGIN')
                  for (let start = 0; start < ROWS; start += CHUNK)
                    await multiRowInsert(client, start, Math.min(ROWS, start + CHUNK))
                  await client.query('COMMIT')
                } finally {
                  client.release()
                }
              }),
          },
          'one INSERT a row, in a transaction (naive loop)': {
            measure: () =>
              timedInsert(async () => {
                const client = await bare.connect()
                try {
                  await client.query('BEGIN')
                  for (const row of rows)
                    await client.query('INSERT INTO events (id, kind, payload, at) VALUES ($1, $2, $3, $4)', [
                      row.id,
                      row.kind,
                      row.payload,
                      row.at,
                    ])
                  await client.query('COMMIT')
                } finally {
                  client.release()
                }
              }),
          },
          'createPgQueries bulkInsert (COPY)': {
            measure: () =>
              timedInsert(async () => {
                const { rowCount } = await queries.bulkInsert('events', rows)
                if (rowCount !== ROWS) throw new Error(`bulkInsert reported ${rowCount} rows`)
              }),
          },
        },
        notes: [
          'Each round truncates the table, inserts every row and counts them; ops/s are rows per second.',
        ],
      },
    ]
  },
  async teardown() {
    await pool?.end()
    pool = undefined
    await db?.drop()
    db = undefined
  },
})
