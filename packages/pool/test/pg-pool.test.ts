import {
  createTestDatabase,
  freePort,
  postgresAvailable,
  type TestDatabase,
  waitUntil,
} from '@headroom/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPoolSizer, pgPoolTarget } from '../src/index.js'

describe.runIf(postgresAvailable())('pg Pool adapter (real Postgres)', () => {
  let db: TestDatabase
  const pools: pg.Pool[] = []
  const newPool = (config: pg.PoolConfig) => {
    const pool = new pg.Pool({ connectionString: db.url, ...config })
    pool.on('error', () => {})
    pools.push(pool)
    return pool
  }

  beforeAll(async () => {
    db = await createTestDatabase('pool')
  })
  afterAll(async () => {
    await Promise.all(pools.map((pool) => (pool.ended || pool.ending ? undefined : pool.end())))
    await db?.drop()
  })

  it('growing lets waiting callers connect without waiting for a release', async () => {
    const pool = newPool({ max: 1 })
    const target = pgPoolTarget(pool)
    const queries = Array.from({ length: 4 }, () => pool.query('SELECT pg_sleep(0.5)'))
    await waitUntil(() => pool.waitingCount === 3, { timeoutMs: 5_000 })
    target.resize(4)
    await waitUntil(() => pool.totalCount === 4 && pool.waitingCount === 0, { timeoutMs: 5_000 })
    // All four run at once: the waiting three did not queue behind the first.
    const { rows } = await pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'SELECT pg_sleep%'",
    )
    expect(rows[0]!.n).toBeGreaterThanOrEqual(3)
    await Promise.all(queries)
  })

  it('shrinking closes idle connections only and never cuts a query in flight', async () => {
    const pool = newPool({ max: 8, idleTimeoutMillis: 60_000, application_name: 'shrink_test' })
    const target = pgPoolTarget(pool)
    const busy = Array.from({ length: 8 }, (_, i) => pool.query(`SELECT pg_sleep(0.4), ${i} AS i`))
    await waitUntil(() => pool.totalCount === 8, { timeoutMs: 5_000 })
    target.resize(3)
    expect(pool.options.max).toBe(3)
    const results = await Promise.all(busy)
    expect(results.map((r) => r.rows[0].i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    await waitUntil(() => pool.totalCount === 3, { timeoutMs: 5_000 })
    // The retired connections' backends exit once their Terminate message is processed.
    const backends = async () =>
      (
        await pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'shrink_test'",
        )
      ).rows[0]!.n
    await waitUntil(async () => (await backends()) <= 3, { timeoutMs: 5_000 })
    // The pool still works at its new size.
    const after = await Promise.all(Array.from({ length: 6 }, () => pool.query('SELECT 1 AS one')))
    expect(after).toHaveLength(6)
    expect(pool.totalCount).toBeLessThanOrEqual(3)
  })

  it('a shrink queued behind callers is undone if the pool grows back first', async () => {
    const pool = newPool({ max: 4, idleTimeoutMillis: 60_000 })
    const target = pgPoolTarget(pool)
    const busy = Array.from({ length: 6 }, () => pool.query('SELECT pg_sleep(0.2)'))
    await waitUntil(() => pool.totalCount === 4, { timeoutMs: 5_000 })
    target.resize(2)
    target.resize(4)
    await Promise.all(busy)
    await waitUntil(() => pool.waitingCount === 0, { timeoutMs: 5_000 })
    expect(pool.totalCount).toBe(4)
  })

  it('reads max_connections and keeps the pool within its share per instance', async () => {
    const pool = newPool({ max: 10 })
    const target = pgPoolTarget(pool)
    const maxConnections = await target.maxConnections!()
    const { rows } = await pool.query<{ max_connections: string }>('SHOW max_connections')
    expect(maxConnections).toBe(Number(rows[0]!.max_connections))
    const instances = Math.ceil(maxConnections / 5)
    const sizer = createPoolSizer({ target, max: 50, instances, probe: false })
    await waitUntil(() => sizer.stats().maxConnections !== undefined, { timeoutMs: 5_000 })
    const share = Math.floor(maxConnections / instances)
    expect(sizer.size).toBe(share)
    expect(pool.options.max).toBe(share)
    sizer.close()
  })

  it('never opens more than its max_connections share, counted in pg_stat_activity from the first connection', async () => {
    const admin = newPool({ max: 1 })
    const { rows } = await admin.query<{ max_connections: string }>('SHOW max_connections')
    const maxConnections = Number(rows[0]!.max_connections)
    // A share of about 8 connections, against a pool configured for 24 and 24 eager callers.
    const instances = Math.floor(maxConnections / 8)
    const share = Math.floor(maxConnections / instances)
    expect(share).toBeLessThan(24)
    const applicationName = `share_test_${process.pid}`
    const pool = newPool({ max: 24, application_name: applicationName, idleTimeoutMillis: 60_000 })
    let peakBackends = 0
    let peakPool = 0
    let counting = true
    const counter = (async () => {
      while (counting) {
        const { rows: counted } = await admin.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
          [applicationName],
        )
        peakBackends = Math.max(peakBackends, counted[0]!.n)
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
    })()
    const watch = setInterval(() => {
      peakPool = Math.max(peakPool, pool.totalCount)
    }, 1)
    const sizer = createPoolSizer({ target: pool, max: 50, instances, intervalMs: 50 })
    // The callers start at once, before SHOW max_connections can have answered.
    const deadline = Date.now() + 1_500
    await Promise.all(
      Array.from({ length: 24 }, async () => {
        while (Date.now() < deadline) {
          peakPool = Math.max(peakPool, pool.totalCount)
          await pool.query('SELECT pg_sleep(0.02)')
        }
      }),
    )
    counting = false
    clearInterval(watch)
    await counter
    expect(sizer.stats().maxConnections).toBe(maxConnections)
    sizer.close()
    const peaks = JSON.stringify({ share, peakPool, peakBackends })
    expect(peakPool, peaks).toBeLessThanOrEqual(share)
    expect(peakBackends, peaks).toBeLessThanOrEqual(share)
    // It did use its share: the callers kept it busy.
    expect(peakPool).toBeGreaterThanOrEqual(Math.min(share, 4))
  })

  it('the sizer measures pool.query and client checkouts, and unhooks on close', async () => {
    const pool = newPool({ max: 3 })
    const original = pool.connect
    // maxConnections given, so the sizer's own SHOW query is not among the checkouts counted.
    const sizer = createPoolSizer({
      target: pool,
      max: 10,
      intervalMs: 50,
      probe: false,
      maxConnections: 100,
    })
    await Promise.all(Array.from({ length: 9 }, () => pool.query('SELECT pg_sleep(0.05)')))
    const client = await pool.connect()
    await client.query('SELECT 1')
    client.release()
    await expect(pool.query('SELECT * FROM missing_table')).rejects.toThrow()
    await expect(pool.query('SET statement_timeout = 1; SELECT pg_sleep(0.2)')).rejects.toThrow(
      /statement timeout/,
    )
    const stats = sizer.stats()
    expect(stats.checkouts.success).toBe(10)
    expect(stats.checkouts.ignored).toBe(1)
    expect(stats.checkouts.dropped).toBe(1)
    expect(stats.latency.p50).toBeGreaterThan(40)
    expect(stats.acquireWait.count).toBe(12)
    sizer.close()
    expect(pool.connect).toBe(original)
  })

  it('holds the pool at min and keeps asking when the database cannot be reached', async () => {
    const port = await freePort()
    const pool = new pg.Pool({
      host: '127.0.0.1',
      port,
      user: 'postgres',
      max: 5,
      connectionTimeoutMillis: 2_000,
    })
    pool.on('error', () => {})
    pools.push(pool)
    const warnings: unknown[] = []
    const logger = {
      trace() {},
      debug() {},
      info() {},
      warn: (obj: unknown) => warnings.push(obj),
      error() {},
    }
    const sizer = createPoolSizer({ target: pool, max: 20, intervalMs: 50, logger })
    const failures = await Promise.allSettled(Array.from({ length: 10 }, () => pool.query('SELECT 1')))
    expect(failures.every((r) => r.status === 'rejected')).toBe(true)
    await waitUntil(() => warnings.length >= 1, { timeoutMs: 5_000 })
    const stats = sizer.stats()
    // Its share is unknown, so the pool stays at the smallest share there can be: min.
    expect(stats).toMatchObject({ size: 1, ceiling: 1 })
    expect(pool.options.max).toBe(1)
    expect(stats.maxConnections).toBeUndefined()
    expect(stats.checkouts.acquireFailed).toBeGreaterThanOrEqual(10)
    expect(stats.checkouts.dropped).toBe(0)
    // Warned once, then backs off rather than logging every interval.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(warnings).toHaveLength(1)
    sizer.close()
  })

  it('sizes a saturated pool under real load and keeps every query correct', async () => {
    const pool = newPool({ max: 20 })
    const sizer = createPoolSizer({ target: pool, min: 1, max: 20, intervalMs: 100 })
    const sizes = new Set<number>()
    sizer.on('resize', (event) => sizes.add(event.new))
    let ok = 0
    const deadline = Date.now() + 3_000
    await Promise.all(
      Array.from({ length: 24 }, async () => {
        while (Date.now() < deadline) {
          const { rows } = await pool.query<{ v: number }>('SELECT pg_sleep(0.005), 7 AS v')
          if (rows[0]!.v === 7) ok++
        }
      }),
    )
    sizer.close()
    expect(ok).toBeGreaterThan(50)
    // The no-load probe pinned the pool to 2 at least once.
    expect(sizes.has(2)).toBe(true)
    expect(pool.totalCount).toBeLessThanOrEqual(20)
  })
})
