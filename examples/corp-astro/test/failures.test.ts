import {
  createTestDatabase,
  postgresAvailable,
  type RedisServer,
  startRedisServer,
  type TestDatabase,
  waitUntil,
} from '@headroom/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AstroService, startAstroService } from '../src/astro/service.js'
import { jobHandlers } from '../src/jobs/handlers.js'
import type { RunningServer } from '../src/server.js'
import { newUser, sampleProfile, startTestApp } from './helpers.js'

// One app on Postgres (shards as schemas in one database) with its own Redis and astro
// service, so the test can stop Redis and break astro without touching anyone else.
describe.skipIf(!postgresAvailable())('corp-astro when dependencies fail', () => {
  let db: TestDatabase
  let redis: RedisServer
  let astro: AstroService
  let app: RunningServer

  beforeAll(async () => {
    ;[db, redis, astro] = await Promise.all([
      createTestDatabase('astro_fail'),
      startRedisServer(),
      startAstroService(),
    ])
    app = await startTestApp({
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      ASTRO_URL: astro.url,
      PG_POOL_MAX: '4',
    })
  }, 120_000)

  afterAll(async () => {
    await app?.close(2_000)
    await Promise.all([astro?.close(), redis?.close()])
    await db?.drop()
  }, 60_000)

  it('keeps answering while Redis is down, and uses it again when it is back', async () => {
    const user = await newUser(app.url, 'outage')
    const { http } = user
    const profile = (await http.post('/api/business-profiles', sampleProfile, user.token)).body
    const daily = (await http.get(`/api/content/daily?profileId=${profile.id}`, user.token)).body

    await redis.stop()
    const started = Date.now()
    const me = await http.get('/api/users/me', user.token)
    expect(me.status).toBe(200)
    // The cache serves its L1 copy; limits decide locally; nothing waits on the dead server.
    const again = await http.get(`/api/content/daily?profileId=${profile.id}`, user.token)
    expect(again.body.id).toBe(daily.id)
    const created = await http.post(
      '/api/business-profiles',
      { ...sampleProfile, name: 'Outage Ltd' },
      user.token,
    )
    expect(created.status).toBe(201)
    expect((await http.get('/api/business-profiles', user.token)).body.total).toBe(2)
    expect(me.headers.get('ratelimit-policy')).toMatch(/q=100;/)
    // Generous bound for a shared machine: what matters is no request hangs on Redis.
    expect(Date.now() - started).toBeLessThan(15_000)
    expect((await http.get('/readyz')).status).toBe(200)

    await redis.start()
    await waitUntil(async () => app.ctx.redis!.status === 'ready', {
      timeoutMs: 15_000,
      what: 'redis reconnect',
    })
    expect((await http.get('/api/users/me', user.token)).status).toBe(200)
  })

  it('falls back to template-only content while astro fails, and the breaker stops calling it', async () => {
    const user = await newUser(app.url, 'astro')
    const { http } = user
    // A sign no other test has asked about today: forecasts are cached per sign and day.
    const libra = { ...sampleProfile, foundingDate: '2019-10-01' }
    astro.setFaults({ failureRate: 1 })
    try {
      const sources: string[] = []
      for (let i = 0; i < 14; i++) {
        const profile = (
          await http.post('/api/business-profiles', { ...libra, name: `Shop ${i}` }, user.token)
        ).body
        const daily = await http.get(`/api/content/daily?profileId=${profile.id}`, user.token)
        expect(daily.status).toBe(200)
        sources.push(daily.body.source)
        expect(daily.body.body).toContain(`Shop ${i}`)
      }
      expect(new Set(sources)).toEqual(new Set(['template']))
      expect(app.ctx.astro.breaker.state).toBe('open')
      const calls = astro.requests()
      const profile = (
        await http.post('/api/business-profiles', { ...libra, name: 'Open Circuit' }, user.token)
      ).body
      expect((await http.get(`/api/content/daily?profileId=${profile.id}`, user.token)).body.source).toBe(
        'template',
      )
      // Open: the call never reached the service.
      expect(astro.requests()).toBe(calls)
      expect(app.ctx.astro.stats().fallbacks).toBeGreaterThanOrEqual(15)
    } finally {
      astro.setFaults({ failureRate: 0 })
      app.ctx.astro.breaker.reset()
    }
    const profile = (await http.post('/api/business-profiles', { ...libra, name: 'Recovered' }, user.token))
      .body
    expect((await http.get(`/api/content/daily?profileId=${profile.id}`, user.token)).body.source).toBe(
      'astro',
    )
    // The forecast is cached for the sign and day: more content of that sign asks nobody.
    const calls = astro.requests()
    const another = (await http.post('/api/business-profiles', { ...libra, name: 'Cached' }, user.token)).body
    const cached = await http.get(`/api/content/daily?profileId=${another.id}`, user.token)
    expect(cached.body).toMatchObject({ source: 'astro', data: { sign: 'Libra' } })
    expect(astro.requests()).toBe(calls)
  })

  it('cleans expired content on every shard with the cleanup job', async () => {
    const user = await newUser(app.url, 'cleanup')
    const profile = (await user.http.post('/api/business-profiles', sampleProfile, user.token)).body
    const daily = (await user.http.get(`/api/content/daily?profileId=${profile.id}`, user.token)).body
    const db = app.ctx.shards.forUser(user.id)
    await db.query(
      `UPDATE ${db.schema}.content_items SET expires_at = now() - interval '1 day' WHERE id = $1`,
      [daily.id],
    )
    const result = (await jobHandlers(app.ctx)['content-cleanup']({}, new AbortController().signal)) as {
      deleted: number
    }
    expect(result.deleted).toBeGreaterThanOrEqual(1)
    expect(await db.query(`SELECT id FROM ${db.schema}.content_items WHERE id = $1`, [daily.id])).toEqual([])
  })

  it("pre-generates the day's content in low load; the first read gets it; not healthy, it defers", async () => {
    const user = await newUser(app.url, 'pregen')
    const profiles: { id: string }[] = []
    for (const name of ['Early Bird Ltd', 'Dawn Co']) {
      profiles.push(
        (await user.http.post('/api/business-profiles', { ...sampleProfile, name }, user.token)).body,
      )
    }
    const db = app.ctx.shards.forUser(user.id)
    const dailyRows = () =>
      db.query<{ id: string; profile_id: string }>(
        `SELECT id, profile_id FROM ${db.schema}.content_items WHERE user_id = $1 AND kind = 'daily'`,
        [user.id],
      )
    expect(await dailyRows()).toEqual([])
    const handlers = jobHandlers(app.ctx)
    const monitor = app.ctx.health.monitor

    // Not healthy: nothing is made, the run says it deferred.
    monitor.reportInput('pregen-test', 'critical', 'forced by the test')
    try {
      await waitUntil(() => monitor.status !== 'healthy', { timeoutMs: 15_000, what: 'an unhealthy status' })
      const deferred = (await handlers['content-pregenerate']({}, new AbortController().signal)) as {
        deferred: boolean
      }
      expect(deferred.deferred).toBe(true)
      expect(await dailyRows()).toEqual([])
    } finally {
      monitor.reportInput('pregen-test', 'healthy')
    }
    await waitUntil(() => monitor.status === 'healthy', { timeoutMs: 30_000, what: 'the healthy status' })

    const result = (await handlers['content-pregenerate']({}, new AbortController().signal)) as {
      generated: number
      deferred: boolean
    }
    expect(result.deferred).toBe(false)
    expect(result.generated).toBeGreaterThanOrEqual(2)
    const rows = await dailyRows()
    expect(rows.map((row) => row.profile_id).sort()).toEqual(profiles.map((p) => p.id).sort())
    // The first read of the day serves the row made ahead of it.
    const first = profiles[0]!.id
    const read = await user.http.get(`/api/content/daily?profileId=${first}`, user.token)
    expect(read.status).toBe(200)
    expect(read.body.id).toBe(rows.find((row) => row.profile_id === first)!.id)
    // A second run finds nothing left to make.
    const again = (await handlers['content-pregenerate']({}, new AbortController().signal)) as {
      generated: number
    }
    expect(again.generated).toBe(0)
  }, 90_000)

  it('sheds free traffic first when degraded, premium last, and never the probes', async () => {
    const free = await newUser(app.url, 'free')
    const premium = await newUser(app.url, 'premium')
    await premium.http.patch('/api/users/me', { tier: 'premium' }, premium.token)
    const premiumToken = (
      await premium.http.post('/api/auth/refresh', { refreshToken: premium.refreshToken })
    ).body.accessToken as string
    const monitor = app.ctx.health.monitor
    monitor.reportInput('test', 'critical', 'forced by the test')
    try {
      // The monitor adopts a worse status once it has held for enterDwellMs (2 s).
      await waitUntil(() => monitor.status === 'critical', { timeoutMs: 15_000, what: 'the critical status' })
      const shed = await free.http.get('/api/users/me', free.token)
      expect(shed.status).toBe(503)
      expect(shed.headers.get('retry-after')).toBe('2')
      expect(shed.headers.get('content-type')).toContain('application/problem+json')
      expect((await premium.http.get('/api/users/me', premiumToken)).status).toBe(200)
      expect((await free.http.get('/livez')).status).toBe(200)
      expect(app.ctx.health.stats().shed?.shed.low).toBeGreaterThanOrEqual(1)
    } finally {
      monitor.clearInput('test')
    }
    await waitUntil(async () => (await free.http.get('/api/users/me', free.token)).status === 200, {
      timeoutMs: 20_000,
      intervalMs: 250,
      what: 'shedding to stop',
    })
  })
})
