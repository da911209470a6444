import { createTestDatabase, postgresAvailable, type TestDatabase, waitUntil } from '@headroom/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readyz } from '../src/http/probes.js'
import { createHealthMonitor } from '../src/monitor/monitor.js'
import { listen, timed } from './helpers.js'

describe.runIf(postgresAvailable())('a Postgres dependency check', () => {
  let db: TestDatabase
  let pool: pg.Pool
  beforeAll(async () => {
    db = await createTestDatabase('health')
    pool = new pg.Pool({ connectionString: db.url, max: 3 })
    await pool.query('CREATE TABLE accounts (id int primary key)')
  })
  afterAll(async () => {
    await pool?.end()
    await db?.drop()
  })

  it('fails after its timeout while a lock blocks the query, /readyz answers meanwhile, and recovers', async () => {
    const monitor = createHealthMonitor({
      checks: {
        db: {
          critical: true,
          check: () => pool.query('SELECT count(*) FROM accounts'),
          componentType: 'datastore',
        },
      },
      checkTimeoutMs: 4000,
      checkIntervalMs: 300,
      exitDwellMs: 0,
    })
    const probe = timed(readyz(monitor))
    const http = await listen(probe.handler)
    const locker = new pg.Client({ connectionString: db.url })
    try {
      await waitUntil(() => monitor.ready, { timeoutMs: 10_000, what: 'ready' })
      expect(monitor.checks()[0]).toMatchObject({ status: 'pass', componentType: 'datastore' })

      // Another session holds an exclusive lock: the check's query now hangs.
      await locker.connect()
      await locker.query('BEGIN')
      await locker.query('LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE')
      await waitUntil(() => monitor.checks()[0]?.status === 'fail', {
        timeoutMs: 10_000,
        what: 'the check to fail',
      })
      expect(monitor.checks()[0]?.error).toBe('Check timed out after 4000 ms')
      // Unready, but nothing shed: a database failing is not an overload.
      expect(monitor.status).toBe('healthy')
      const times: number[] = []
      for (let i = 0; i < 5; i++) {
        const started = performance.now()
        const response = await fetch(http.url)
        await response.text()
        times.push(performance.now() - started)
        expect(response.status).toBe(503)
      }
      // No round trip waits for the blocked query, which hangs until the check's 4 s timeout (a
      // check is in flight almost all the time: each hangs 4 s, the next starts 300 ms later).
      // The bound is loose because the shared test machine (load average above 20 on two cores)
      // sometimes takes over a second for a plain local request; a probe that waited would take seconds.
      expect(Math.max(...times)).toBeLessThan(3000)

      await locker.query('COMMIT')
      await waitUntil(() => monitor.checks()[0]?.status === 'pass', { timeoutMs: 10_000, what: 'recovery' })
      expect((await fetch(http.url)).status).toBe(200)
    } finally {
      await locker.end().catch(() => {})
      monitor.close()
      await http.close()
    }
  })
})
