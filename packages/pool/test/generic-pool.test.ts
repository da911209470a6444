import { createTestDatabase, postgresAvailable, type TestDatabase, waitUntil } from '@headroom/testing'
import genericPool from 'generic-pool'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPoolSizer, genericPoolTarget } from '../src/index.js'

describe.runIf(postgresAvailable())('generic-pool adapter (real pg clients)', () => {
  let db: TestDatabase
  const pools: genericPool.Pool<pg.Client>[] = []
  let destroyed = 0
  const newPool = (max: number, priorityRange = 1) => {
    const pool = genericPool.createPool<pg.Client>(
      {
        async create() {
          const client = new pg.Client({ connectionString: db.url })
          client.on('error', () => {})
          await client.connect()
          return client
        },
        async destroy(client) {
          destroyed++
          await client.end()
        },
      },
      { max, min: 0, priorityRange },
    )
    pools.push(pool)
    return pool
  }

  beforeAll(async () => {
    db = await createTestDatabase('gpool')
  })
  afterAll(async () => {
    for (const pool of pools) {
      await pool.drain()
      await pool.clear()
    }
    await db?.drop()
  })

  it('refuses something that is not a generic-pool pool', () => {
    expect(() => genericPoolTarget({} as never)).toThrow(/expected a generic-pool 3 Pool/)
  })

  it('grows: waiting callers get new resources at once', async () => {
    const pool = newPool(1)
    const target = genericPoolTarget(pool)
    const first = await pool.acquire()
    const waiting = [pool.acquire(), pool.acquire()]
    await waitUntil(() => pool.pending === 2)
    target.resize(3)
    const got = await Promise.all(waiting)
    expect(pool.size).toBe(3)
    expect(pool.max).toBe(3)
    for (const client of [first, ...got]) await pool.release(client)
  })

  it('shrinks: destroys idle resources only, borrowed ones keep working', async () => {
    const pool = newPool(6, 2)
    const target = genericPoolTarget(pool)
    const clients = await Promise.all(Array.from({ length: 6 }, () => pool.acquire()))
    const before = destroyed
    target.resize(2)
    expect(pool.max).toBe(2)
    // Nothing borrowed is taken: each borrowed client still answers.
    const answers = await Promise.all(clients.map((client) => client.query('SELECT 1 AS one')))
    expect(answers.every((r) => r.rows[0].one === 1)).toBe(true)
    expect(destroyed).toBe(before)
    for (const client of clients) await pool.release(client)
    await waitUntil(() => pool.size === 2, { timeoutMs: 5_000 })
    expect(destroyed - before).toBe(4)
    const again = await pool.acquire()
    expect((await again.query('SELECT 2 AS two')).rows[0].two).toBe(2)
    await pool.release(again)
  })

  it('the sizer measures use() and stops measuring after close', async () => {
    const pool = newPool(3)
    const sizer = createPoolSizer({ target: pool, max: 8, probe: false, maxConnections: 100, intervalMs: 50 })
    expect(sizer.target.kind).toBe('generic-pool')
    await Promise.all(
      Array.from({ length: 6 }, () => pool.use((client) => client.query('SELECT pg_sleep(0.03)'))),
    )
    expect(sizer.stats().checkouts.success).toBe(6)
    expect(sizer.stats().latency.p50).toBeGreaterThan(20)
    sizer.close()
    expect(Object.hasOwn(pool, 'acquire')).toBe(false)
    await pool.use((client) => client.query('SELECT 1'))
    expect(sizer.stats().checkouts.success).toBe(6)
  })

  it('bounds the pool by the max_connections share it is given', async () => {
    const pool = newPool(10)
    const sizer = createPoolSizer({
      target: genericPoolTarget(pool, { maxConnections: async () => 12 }),
      max: 20,
      instances: 3,
      probe: false,
    })
    await waitUntil(() => sizer.stats().maxConnections === 12)
    expect(pool.max).toBe(4)
    sizer.close()
  })
})
