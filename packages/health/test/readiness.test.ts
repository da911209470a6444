// Readiness means this instance can serve: a shared dependency down (one shard of
// four) is reported in /health as `warn`, per database, with its error, and never
// drains the instance; only checks declared `critical` (no database answers at all)
// do. Real Postgres behind one TCP proxy per "shard", real HTTP.
import { createManualClock } from '@headroom/core'
import {
  createTestDatabase,
  postgresAvailable,
  startTcpProxy,
  type TcpProxy,
  type TestDatabase,
  waitUntil,
} from '@headroom/testing'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { HealthJson } from '../src/http/health-json.js'
import { healthRoutes } from '../src/http/probes.js'
import { createHealthMonitor } from '../src/monitor/monitor.js'
import type { HealthMonitor } from '../src/monitor/types.js'
import { listen, scriptedSampler } from './helpers.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe.runIf(postgresAvailable())('readiness with four Postgres shards', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase('health_ready')
  })
  afterAll(async () => {
    await db?.drop()
  })

  async function shards() {
    const target = new URL(db.url)
    const list: { id: string; proxy: TcpProxy; pool: pg.Pool }[] = []
    for (let i = 0; i < 4; i++) {
      const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
      const url = new URL(db.url)
      url.hostname = '127.0.0.1'
      url.port = String(proxy.port)
      // Client-side timeouts: a hung query or connection attempt through the proxy ends,
      // so the pool gives its connections back and can be closed.
      const pool = new pg.Pool({
        connectionString: url.toString(),
        max: 2,
        query_timeout: 1000,
        connectionTimeoutMillis: 1000,
      })
      pool.on('error', () => {})
      list.push({ id: `shard-${i}`, proxy, pool })
      cleanups.push(async () => {
        await proxy.close()
        await pool.end().catch(() => {})
      })
    }
    return list
  }

  async function serve(monitor: HealthMonitor) {
    cleanups.push(() => monitor.close())
    const server = await listen(healthRoutes(monitor))
    cleanups.push(() => server.close())
    const get = async (path: string) => {
      const response = await fetch(`${server.url}${path}`)
      return { status: response.status, body: (await response.json()) as HealthJson }
    }
    return get
  }

  it('one shard hanging leaves /readyz at 200; /health says warn for that database, with its error', async () => {
    const list = await shards()
    // One check per database, declared the default way: a dependency, not this instance.
    const monitor = createHealthMonitor({
      checks: Object.fromEntries(
        list.map(({ id, pool }) => [
          id,
          { check: () => pool.query('SELECT 1'), componentType: 'datastore', timeoutMs: 800 },
        ]),
      ),
      checkIntervalMs: 200,
    })
    const get = await serve(monitor)
    await waitUntil(() => monitor.checks().every((check) => check.status === 'pass'), {
      timeoutMs: 10_000,
      what: 'every shard check to pass',
    })
    expect((await get('/readyz')).status).toBe(200)

    list[2]?.proxy.hang()
    await waitUntil(() => monitor.checks()[2]?.status === 'fail', {
      timeoutMs: 10_000,
      what: 'shard-2 to fail',
    })
    const ready = await get('/readyz')
    expect(ready).toEqual({ status: 200, body: { status: 'pass' } })
    expect(monitor.ready).toBe(true)
    // A shared dependency failing is not an overload: nothing is shed for it.
    expect(monitor.status).toBe('healthy')
    const report = await get('/health')
    expect(report.status).toBe(200)
    expect(report.body.status).toBe('warn')
    expect(report.body.checks['shard-2:responseTime']?.[0]).toMatchObject({
      componentId: 'shard-2',
      componentType: 'datastore',
      status: 'warn',
      output: expect.stringMatching(/timed out after 800 ms|Query read timeout|timeout exceeded/),
    })
    for (const id of ['shard-0', 'shard-1', 'shard-3'])
      expect(report.body.checks[`${id}:responseTime`]?.[0]?.status).toBe('pass')
  })

  it('a critical check (no database answers at all) makes this instance unready, and ready again after', async () => {
    const list = await shards()
    const monitor = createHealthMonitor({
      checks: {
        // Some database answers: what a restart, or another instance with its own network
        // path and pool, may not share.
        database: {
          critical: true,
          check: () => Promise.any(list.map(({ pool }) => pool.query('SELECT 1'))),
          timeoutMs: 500,
        },
        ...Object.fromEntries(
          list.map(({ id, pool }) => [id, { check: () => pool.query('SELECT 1'), timeoutMs: 500 }]),
        ),
      },
      checkIntervalMs: 200,
    })
    const get = await serve(monitor)
    await waitUntil(() => monitor.ready, { timeoutMs: 10_000, what: 'ready' })
    for (const { proxy } of list) await proxy.close()
    await waitUntil(() => !monitor.ready, { timeoutMs: 10_000, what: 'unready' })
    const unready = await get('/readyz')
    expect(unready.status).toBe(503)
    expect(unready.body.output).toMatch(/^database: /)
    const report = await get('/health')
    expect(report.status).toBe(503)
    expect(report.body.status).toBe('fail')
    expect(report.body.checks['database:responseTime']?.[0]?.status).toBe('fail')
    expect(report.body.checks['shard-0:responseTime']?.[0]?.status).toBe('warn')
    for (const { proxy } of list) await proxy.open()
    await waitUntil(() => monitor.ready, { timeoutMs: 10_000, what: 'ready again' })
    expect((await get('/readyz')).status).toBe(200)
  })
})

describe('the readiness contract (manual clock)', () => {
  it('only critical checks gate readiness; a failing dependency check leaves the status healthy', async () => {
    const clock = createManualClock(0)
    let own = true
    const monitor = createHealthMonitor({
      clock,
      sampler: scriptedSampler(),
      checks: {
        redis: () => Promise.reject(new Error('ECONNREFUSED')),
        disk: { critical: true, check: () => own },
      },
    })
    cleanups.push(() => monitor.close())
    expect(monitor.ready).toBe(false) // the critical check has not run yet
    await clock.advanceAsync(0)
    expect(monitor.checks().map(({ name, status, critical }) => ({ name, status, critical }))).toEqual([
      { name: 'redis', status: 'fail', critical: false },
      { name: 'disk', status: 'pass', critical: true },
    ])
    expect(monitor.ready).toBe(true)
    await clock.advanceAsync(5000)
    expect(monitor.status).toBe('healthy')
    expect(monitor.reasons()).toEqual([])
    own = false
    await clock.advanceAsync(10_000)
    expect(monitor.ready).toBe(false)
    expect(monitor.status).toBe('healthy')
  })

  it('a check may still ask for a status while it fails, through the dwell', async () => {
    const clock = createManualClock(0)
    const monitor = createHealthMonitor({
      clock,
      sampler: scriptedSampler(),
      checks: { payments: { check: () => false, status: 'degraded' } },
    })
    cleanups.push(() => monitor.close())
    await clock.advanceAsync(0)
    expect(monitor.ready).toBe(true)
    await clock.advanceAsync(3000)
    expect(monitor.status).toBe('degraded')
    expect(monitor.reasons()[0]).toMatchObject({ kind: 'check', name: 'payments' })
  })

  it('a check definition with an unknown key is refused, naming it', () => {
    expect(() =>
      createHealthMonitor({ checks: { db: { check: () => true, readiness: true } as never } }),
    ).toThrow(/"checks\.db\.readiness": unknown option/)
  })
})
