import { createCache } from '@headroom/cache'
import { createTestDatabase, postgresAvailable, type TestDatabase, waitUntil } from '@headroom/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAdaptiveLimiter, createPoolSizer, pgPoolTarget } from '../src/index.js'
import { createPgQueries, isTransientPgError, PgIdentifierError } from '../src/pg.js'

describe.runIf(postgresAvailable())('pg query helpers (real Postgres)', () => {
  let db: TestDatabase
  let pool: pg.Pool
  let admin: pg.Pool

  beforeAll(async () => {
    db = await createTestDatabase('pgq')
    pool = new pg.Pool({ connectionString: db.url, max: 6 })
    pool.on('error', () => {})
    admin = new pg.Pool({ connectionString: db.url, max: 2 })
    // Dropping the database at the end terminates any connection still closing; pg reports
    // that on the pool, and an unheard pool error would fail the run after every test passed.
    admin.on('error', () => {})
    await admin.query('create table accounts (id int primary key, balance int not null)')
    await admin.query('create table events (id int primary key, kind text, payload jsonb, at timestamptz)')
    await admin.query('create table notes (id serial primary key, body text not null)')
  })
  afterAll(async () => {
    await pool?.end()
    await admin?.end()
    await db?.drop()
  })

  it('re-runs a transaction that lost a serialization conflict, and both commit', async () => {
    await admin.query('truncate accounts')
    await admin.query('insert into accounts values (1, 100), (2, 100)')
    const queries = createPgQueries(pool, { minRetryDelayMs: 1, maxRetryDelayMs: 5 })
    // Write skew: each reads both rows, then moves money from one; serializable lets one commit.
    let arrived = 0
    let releaseBarrier!: () => void
    const barrier = new Promise<void>((resolve) => {
      releaseBarrier = resolve
    })
    const runs: number[] = [0, 0]
    const transfer = (index: number, id: number) =>
      queries.transaction(
        async (tx) => {
          runs[index]!++
          const { rows } = await tx.query<{ total: number }>(
            'select sum(balance)::int as total from accounts',
          )
          if (runs[index] === 1) {
            if (++arrived === 2) releaseBarrier()
            await barrier
          }
          await tx.query('update accounts set balance = balance - 150 where id = $1 and $2 >= 150', [
            id,
            rows[0]!.total,
          ])
          return rows[0]!.total
        },
        { isolation: 'serializable' },
      )
    const totals = await Promise.all([transfer(0, 1), transfer(1, 2)])
    // One of the two ran again and saw the other's committed change.
    expect(runs.sort()).toEqual([1, 2])
    expect(totals.sort((a, b) => a - b)).toEqual([50, 200])
    const { rows } = await admin.query('select balance from accounts order by id')
    expect(rows.map((row) => row.balance).sort((a, b) => a - b)).toEqual([-50, 100])
  })

  it('never re-runs a constraint violation', async () => {
    await admin.query('truncate accounts')
    const queries = createPgQueries(pool, { minRetryDelayMs: 1 })
    let runs = 0
    const failed = queries.transaction(async (tx) => {
      runs++
      await tx.query('insert into accounts values (1, 0)')
      await tx.query('insert into accounts values (1, 0)')
    })
    await expect(failed).rejects.toMatchObject({ code: '23505' })
    expect(runs).toBe(1)
    let calls = 0
    const insert = () => {
      calls++
      return queries.query('insert into accounts values (7, 0)')
    }
    await insert()
    await expect(insert()).rejects.toMatchObject({ code: '23505' })
    expect(calls).toBe(2)
    expect((await admin.query('select count(*)::int as n from accounts')).rows[0].n).toBe(1)
  })

  it('retries a statement whose connection was killed under it', async () => {
    const queries = createPgQueries(pool, { minRetryDelayMs: 1 })
    const marker = `killed_${Date.now()}`
    const answer = queries.query<{ v: number }>(`select 42 as v, pg_sleep(0.5) /* ${marker} */`)
    let killed = 0
    await waitUntil(
      async () => {
        const { rows } = await admin.query(
          "select pg_terminate_backend(pid) as ok from pg_stat_activity where query like '%' || $1 || '%' and pid <> pg_backend_pid() and query not like '%pg_terminate_backend%'",
          [marker],
        )
        killed += rows.length
        return rows.length > 0
      },
      { what: 'the statement to show in pg_stat_activity' },
    )
    expect(killed).toBe(1)
    expect((await answer).rows[0]!.v).toBe(42)
  })

  it('a timeout cancels the statement on the server', async () => {
    const queries = createPgQueries(pool)
    const marker = `slow_${Date.now()}`
    const started = Date.now()
    await expect(
      queries.query(`select pg_sleep(30) /* ${marker} */`, [], { timeoutMs: 200 }),
    ).rejects.toMatchObject({
      code: '57014',
    })
    expect(Date.now() - started).toBeLessThan(10_000)
    const { rows } = await admin.query(
      "select pid from pg_stat_activity where state = 'active' and query like '%' || $1 || '%' and pid <> pg_backend_pid()",
      [marker],
    )
    expect(rows).toEqual([])
    // The connection goes back to the pool without the timeout: a long statement still runs.
    const { rows: after } = await queries.query<{ s: string }>(
      "select current_setting('statement_timeout') as s",
    )
    expect(after[0]!.s).toBe('0')
  })

  it('a transaction timeout cancels a statement inside it and rolls back', async () => {
    await admin.query('truncate notes')
    const queries = createPgQueries(pool)
    await expect(
      queries.transaction(
        async (tx) => {
          await tx.query("insert into notes (body) values ('kept?')")
          await tx.query('select pg_sleep(30)')
        },
        { timeoutMs: 200 },
      ),
    ).rejects.toMatchObject({ code: '57014' })
    expect((await admin.query('select count(*)::int as n from notes')).rows[0].n).toBe(0)
  })

  it('bulkInsert writes 100k rows in chunks, in one transaction', async () => {
    await admin.query('truncate events')
    const queries = createPgQueries(pool)
    const at = new Date('2026-01-01T00:00:00Z')
    const rows = Array.from({ length: 100_000 }, (_, i) => ({
      id: i,
      kind: i % 2 ? 'odd' : "it's even",
      payload: JSON.stringify({ i }),
      at,
    }))
    const { rowCount } = await queries.bulkInsert('public.events', rows, { chunkSize: 30_000 })
    expect(rowCount).toBe(100_000)
    const { rows: check } = await admin.query(
      "select count(*)::int as n, sum((payload->>'i')::int)::bigint as s, count(*) filter (where kind = 'it''s even')::int as even from events",
    )
    expect(check[0]).toEqual({ n: 100_000, s: String((99_999 * 100_000) / 2), even: 50_000 })
  })

  it('bulkInsert round-trips text that needs escaping, NULLs, arrays, bytes, JSON, dates', async () => {
    await admin.query(
      'create table kinds (id int primary key, t text, arr text[], b bytea, j jsonb, flag bool, ts timestamptz, n bigint)',
    )
    const queries = createPgQueries(pool)
    const ts = new Date('2026-03-04T05:06:07.089Z')
    const rows = [
      {
        id: 1,
        t: 'tab\there\nnewline \\N backslash \r "quoted" \'single\' \\.',
        arr: ['a,b', 'c"d', 'e\\f', null, '{}'],
        b: Buffer.from([0, 1, 254, 255]),
        j: { nested: ['x', 1, null], text: 'tab\t' },
        flag: true,
        ts,
        n: 9007199254740993n,
      },
      { id: 2, t: null, arr: [], b: null, j: null, flag: false, ts: null, n: null },
      { id: 3, t: '\\N', arr: null, b: Buffer.alloc(0), j: '[1,2]', flag: null, ts, n: -1 },
    ]
    await queries.bulkInsert('kinds', rows)
    const { rows: back } = await admin.query(
      'select id, t, arr, b, j, flag, ts, n::text as n from kinds order by id',
    )
    expect(back).toEqual([
      { ...rows[0], n: '9007199254740993' },
      { ...rows[1], arr: [] },
      { ...rows[2], j: [1, 2], n: '-1' },
    ])
  })

  it('bulkInsert refuses bad input with a clear error and inserts nothing', async () => {
    await admin.query('truncate events')
    const queries = createPgQueries(pool)
    const row = { id: 1, kind: 'a' }
    await expect(queries.bulkInsert('events; drop table events', [row])).rejects.toThrow(PgIdentifierError)
    await expect(queries.bulkInsert('events; drop table events', [row])).rejects.toThrow(/plain identifier/)
    await expect(queries.bulkInsert('a.b.c', [row])).rejects.toThrow(/invalid table name "a\.b\.c"/)
    await expect(queries.bulkInsert('events', [])).rejects.toThrow(/rows is empty; pass at least one row/)
    await expect(queries.bulkInsert('events', [{ 'kind"; --': 1 }])).rejects.toThrow(/invalid column name/)
    await expect(queries.bulkInsert('events', [row, { id: 2, kind: 'b', extra: 1 }])).rejects.toThrow(
      /row 1 has column "extra", which row 0 does not have; pass options.columns/,
    )
    await expect(queries.bulkInsert('events', [row], { chunkSize: 0 })).rejects.toThrow(/chunkSize/)
    await expect(
      queries.bulkInsert('events', [row, { id: 1, kind: 'dup' }], { chunkSize: 1 }),
    ).rejects.toMatchObject({
      code: '23505',
    })
    expect((await admin.query('select count(*)::int as n from events')).rows[0].n).toBe(0)
    // A row without a column inserts NULL when options.columns lists it.
    await queries.bulkInsert('events', [{ id: 1 }, { id: 2, kind: 'b' }], { columns: ['id', 'kind'] })
    expect((await admin.query('select kind from events order by id')).rows).toEqual([
      { kind: null },
      { kind: 'b' },
    ])
  })

  it('refuses bad options with the option named', async () => {
    expect(() => createPgQueries(pool, { retries: -1 })).toThrow(/retries/)
    expect(() => createPgQueries(pool, { retry: 3 } as never)).toThrow(/retry/)
    const queries = createPgQueries(pool)
    await expect(queries.query('select 1', [], { timeoutMs: -5 })).rejects.toThrow(/timeoutMs/)
    await expect(queries.query('select 1', [], { timeout: 5 } as never)).rejects.toThrow(/timeout/)
    await expect(queries.transaction(async () => 1, { isolation: 'snapshot' as never })).rejects.toThrow(
      /isolation/,
    )
    await expect(
      queries.transaction((tx) => tx.query('select 1', [], { timeout: 5 } as never)),
    ).rejects.toThrow(/Invalid tx.query option "timeout": unknown option; did you mean "timeoutMs"\?/)
  })

  it('caches reads by table and a write through the helpers invalidates the table', async () => {
    await admin.query('truncate notes')
    await admin.query("insert into notes (id, body) values (1, 'first')")
    const cache = createCache({ prefix: `pgq-${Date.now()}:`, l1: { max: 100 } })
    const queries = createPgQueries(pool, { cache })
    const read = () =>
      queries.query<{ body: string }>('select body from notes where id = $1', [1], {
        cache: { ttl: 60_000, tables: ['notes'] },
      })
    expect((await read()).rows[0]!.body).toBe('first')
    // Changed behind the helpers' back: the cache still answers.
    await admin.query("update notes set body = 'second' where id = 1")
    expect((await read()).rows[0]!.body).toBe('first')
    // A write through the helpers drops the table's tag.
    await queries.query("update public.notes set body = 'third' where id = 1")
    expect((await read()).rows[0]!.body).toBe('third')
    await queries.transaction((tx) => tx.query("update notes set body = 'fourth' where id = 1"))
    expect((await read()).rows[0]!.body).toBe('fourth')
    await queries.bulkInsert('notes', [{ id: 2, body: 'x' }])
    await admin.query("update notes set body = 'fifth' where id = 1")
    expect((await read()).rows[0]!.body).toBe('fifth')
    await cache.close()
  })

  it('every query, transaction and bulk insert passes the limiter and the pool sizer', async () => {
    const limiter = createAdaptiveLimiter({ name: 'pgq', probe: false })
    const sized = new pg.Pool({ connectionString: db.url, max: 4 })
    sized.on('error', () => {})
    const sizer = createPoolSizer({ target: pgPoolTarget(sized), min: 2, max: 8, algorithm: 'vegas' })
    try {
      const queries = createPgQueries(sized, { limiter })
      await queries.query('select 1')
      await queries.query('select 1', [], { timeoutMs: 1000 })
      await queries.transaction((tx) => tx.query('select 1'))
      await queries.bulkInsert('notes', [{ id: 1000, body: 'limited' }])
      expect(limiter.stats().completed.success).toBe(4)
      expect(sizer.stats().checkouts.success).toBeGreaterThanOrEqual(4)
    } finally {
      sizer.close()
      limiter.close()
      await sized.end()
    }
  })
})

describe('isTransientPgError', () => {
  const pgError = (code: string) => Object.assign(new Error(`code ${code}`), { code })
  it('retries conflicts and lost connections only', () => {
    for (const code of ['40001', '40P01', '08006', '08001', '57P01', 'ECONNRESET', 'ECONNREFUSED'])
      expect(isTransientPgError(pgError(code)), code).toBe(true)
    expect(isTransientPgError(new Error('Connection terminated unexpectedly'))).toBe(true)
  })
  it('never retries constraint violations, syntax errors or timeouts', () => {
    for (const code of ['23505', '23503', '42601', '57014', 'ETIMEDOUT'])
      expect(isTransientPgError(pgError(code)), code).toBe(false)
    expect(isTransientPgError(new Error('Connection terminated due to connection timeout'))).toBe(false)
    expect(isTransientPgError(new Error('timeout exceeded when trying to connect'))).toBe(false)
    expect(isTransientPgError(new Error('Query read timeout'))).toBe(false)
    expect(isTransientPgError(undefined)).toBe(false)
  })
})
