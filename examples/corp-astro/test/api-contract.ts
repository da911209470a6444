import { waitUntil } from '@headroom/testing'
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningServer } from '../src/server.js'
import { client, newUser, sampleProfile, uniqueEmail } from './helpers.js'

/**
 * The API's contract over real HTTP, run against every backend combination (embedded
 * PGlite + memory stores; Postgres shards + Redis standalone; + Redis Cluster).
 */
export function describeApi(name: string, start: () => Promise<RunningServer>): void {
  describe(name, () => {
    let app: RunningServer
    let base: string

    beforeAll(async () => {
      app = await start()
      base = app.url
    }, 120_000)
    afterAll(async () => {
      await app?.close(2_000)
    }, 30_000)

    describe('auth', () => {
      it('registers, logs in, refreshes with rotation and logs out', async () => {
        const user = await newUser(base, 'auth')
        const http = client(base)
        const login = await http.post('/api/auth/login', {
          email: user.email.toUpperCase(),
          password: user.password,
        })
        expect(login.status).toBe(200)
        expect(login.body.user).toMatchObject({ id: user.id, email: user.email, tier: 'free', role: 'user' })
        expect(login.body.user.passwordHash).toBeUndefined()
        expect(login.body.tokenType).toBe('Bearer')

        const refreshed = await http.post('/api/auth/refresh', { refreshToken: login.body.refreshToken })
        expect(refreshed.status).toBe(200)
        expect(refreshed.body.refreshToken).not.toBe(login.body.refreshToken)
        expect((await http.get('/api/users/me', refreshed.body.accessToken)).status).toBe(200)

        // Reusing a rotated token is theft: it fails and revokes the whole session.
        const reused = await http.post('/api/auth/refresh', { refreshToken: login.body.refreshToken })
        expect(reused.status).toBe(401)
        expect(reused.headers.get('content-type')).toContain('application/problem+json')
        const afterReuse = await http.post('/api/auth/refresh', { refreshToken: refreshed.body.refreshToken })
        expect(afterReuse.status).toBe(401)

        const second = await http.post('/api/auth/login', { email: user.email, password: user.password })
        expect((await http.post('/api/auth/logout', { refreshToken: second.body.refreshToken })).status).toBe(
          204,
        )
        expect(
          (await http.post('/api/auth/refresh', { refreshToken: second.body.refreshToken })).status,
        ).toBe(401)
      })

      it('refuses a duplicate email with 409 and writes nothing', async () => {
        const user = await newUser(base, 'dup')
        const again = await client(base).post('/api/auth/register', {
          email: user.email,
          password: 'another password',
          name: 'Other',
        })
        expect(again.status).toBe(409)
        const login = await client(base).post('/api/auth/login', {
          email: user.email,
          password: 'another password',
        })
        expect(login.status).toBe(401)
      })

      it('answers bad input with 400, field errors, and creates no account', async () => {
        const http = client(base)
        const email = uniqueEmail('bad')
        const res = await http.post('/api/auth/register', { email, password: 'short', name: '' })
        expect(res.status).toBe(400)
        expect(res.headers.get('content-type')).toContain('application/problem+json')
        expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['name', 'password'])
        expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts/)
        const login = await http.post('/api/auth/login', { email, password: 'short' })
        expect(login.status).toBe(401)

        const broken = await http.request('POST', '/api/auth/login', { body: '{"email":' })
        expect(broken.status).toBe(400)
        expect(broken.headers.get('content-type')).toContain('application/problem+json')
        expect(JSON.stringify(broken.body)).not.toContain('node_modules')
      })

      it('refuses unknown body fields on every auth route with 400 problem+json, like every other route', async () => {
        const user = await newUser(base, 'strict')
        const http = client(base)
        const email = uniqueEmail('strict')
        const attempts: [string, Record<string, unknown>][] = [
          ['/api/auth/register', { email, password: 'correct horse battery', name: 'S', role: 'admin' }],
          ['/api/auth/login', { email: user.email, password: user.password, remember: true }],
          ['/api/auth/refresh', { refreshToken: user.refreshToken, tier: 'premium' }],
          ['/api/auth/logout', { refreshToken: user.refreshToken, everywhere: true }],
        ]
        for (const [path, body] of attempts) {
          const res = await http.post(path, body)
          expect(res.status, path).toBe(400)
          expect(res.headers.get('content-type')).toContain('application/problem+json')
          expect(res.body.errors.length, path).toBeGreaterThan(0)
        }
        // Nothing was written: no account for the refused registration, the refresh token still works.
        expect(
          (await http.post('/api/auth/login', { email, password: 'correct horse battery' })).status,
        ).toBe(401)
        expect((await http.post('/api/auth/refresh', { refreshToken: user.refreshToken })).status).toBe(200)
      })

      it('accepts the Bearer scheme in any case (RFC 9110)', async () => {
        const user = await newUser(base, 'scheme')
        const http = client(base)
        for (const scheme of ['bearer', 'BEARER', 'Bearer', 'bEaReR']) {
          const res = await http.request('GET', '/api/users/me', {
            headers: { authorization: `${scheme} ${user.token}` },
          })
          expect(res.status, scheme).toBe(200)
        }
        const other = await http.request('GET', '/api/users/me', {
          headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
        })
        expect(other.status).toBe(401)
      })

      it('answers 401 to missing, forged and expired access tokens', async () => {
        const user = await newUser(base, 'tok')
        const http = client(base)
        expect((await http.get('/api/users/me')).status).toBe(401)
        expect((await http.get('/api/users/me', 'not-a-jwt')).status).toBe(401)
        const forged = await new SignJWT({ tier: 'premium', role: 'admin', sid: 'x' })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject(user.id)
          .setIssuer('corp-astro')
          .setAudience('corp-astro-api')
          .setExpirationTime('5m')
          .sign(new TextEncoder().encode('a-secret-the-attacker-guessed-wrongly-000'))
        const forgedRes = await http.get('/api/users/me', forged)
        expect(forgedRes.status).toBe(401)
        expect(forgedRes.headers.get('www-authenticate')).toBe('Bearer')
        const expired = await new SignJWT({ tier: 'free', role: 'user', sid: 'x' })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject(user.id)
          .setIssuer('corp-astro')
          .setAudience('corp-astro-api')
          .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
          .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
          .sign(new TextEncoder().encode(app.ctx.config.auth.secret))
        expect((await http.get('/api/users/me', expired)).status).toBe(401)
        const tampered = `${user.token.slice(0, -4)}AAAA`
        expect((await http.get('/api/users/me', tampered)).status).toBe(401)
      })

      it('limits failed logins to 5 per 15 min per account and IP, successes not counted', async () => {
        const user = await newUser(base, 'brute')
        const attacker = client(base)
        // Successful logins do not count toward the failure limit.
        for (let i = 0; i < 6; i++) {
          expect(
            (await attacker.post('/api/auth/login', { email: user.email, password: user.password })).status,
          ).toBe(200)
        }
        for (let i = 0; i < 5; i++) {
          expect(
            (await attacker.post('/api/auth/login', { email: user.email, password: 'wrong password' }))
              .status,
          ).toBe(401)
        }
        const blocked = await attacker.post('/api/auth/login', { email: user.email, password: user.password })
        expect(blocked.status).toBe(429)
        expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0)
        // Another IP is not blocked for the same account.
        const other = await client(base).post('/api/auth/login', {
          email: user.email,
          password: user.password,
        })
        expect(other.status).toBe(200)
      })

      it('limits auth routes to 20 per minute per IP with rate-limit headers', async () => {
        const http = client(base)
        const statuses: number[] = []
        for (let i = 0; i < 21; i++) {
          const res = await http.post('/api/auth/refresh', { refreshToken: 'x' })
          statuses.push(res.status)
          if (res.status === 429) {
            expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
            // draft-11: the quota in RateLimit-Policy, what is left in RateLimit.
            expect(res.headers.get('ratelimit-policy')).toMatch(/^"default";q=20;w=60$/)
            expect(res.headers.get('ratelimit')).toMatch(/^"default";r=0;t=\d+$/)
            expect(res.body.title).toBe('Too Many Requests')
          }
        }
        expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true)
        expect(statuses[20]).toBe(429)
      })
    })

    describe('users', () => {
      it('reads and updates the current user; premium gets higher limits', async () => {
        const user = await newUser(base, 'me')
        const { http } = user
        const me = await http.get('/api/users/me', user.token)
        expect(me.status).toBe(200)
        expect(me.body).toMatchObject({ id: user.id, email: user.email, name: 'me', tier: 'free' })

        const bad = await http.patch('/api/users/me', { tier: 'platinum', extra: 1 }, user.token)
        expect(bad.status).toBe(400)
        expect((await http.get('/api/users/me', user.token)).body.tier).toBe('free')

        const patched = await http.patch('/api/users/me', { name: 'Renamed', tier: 'premium' }, user.token)
        expect(patched.status).toBe(200)
        expect(patched.body).toMatchObject({ name: 'Renamed', tier: 'premium' })
        // A refresh reads the user through the cache `/me` filled with the old tier: the
        // change dropped it, so the new tier is in the new token.
        const refreshed = await http.post('/api/auth/refresh', { refreshToken: user.refreshToken })
        expect(refreshed.body.user).toMatchObject({ id: user.id, name: 'Renamed', tier: 'premium' })
        expect(refreshed.body.user.passwordHash).toBeUndefined()
        // The cached copy was invalidated.
        expect((await http.get('/api/users/me', user.token)).body.name).toBe('Renamed')
        const limited = await http.get('/api/users/me', refreshed.body.accessToken)
        expect(limited.headers.get('ratelimit-policy')).toBe('"default";q=500;w=60')
      })

      it('limits the API to 100 per minute for free users, answering 429 with headers', async () => {
        const user = await newUser(base, 'busy')
        const first = await user.http.get('/api/users/me', user.token)
        expect(first.headers.get('ratelimit-policy')).toBe('"default";q=100;w=60')
        expect(first.headers.get('ratelimit')).toMatch(/^"default";r=99;t=\d+$/)
        // GCRA: a burst of 100, refilled at 100/min, so a few more pass while this loop runs.
        let allowed = 1
        let refused: Awaited<ReturnType<typeof user.http.get>> | undefined
        for (let i = 0; i < 150 && !refused; i++) {
          const res = await user.http.get('/api/users/me', user.token)
          if (res.status === 429) refused = res
          else allowed++
        }
        expect(allowed).toBeGreaterThanOrEqual(100)
        expect(allowed).toBeLessThan(150)
        expect(refused!.headers.get('content-type')).toContain('application/problem+json')
        expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0)
        expect(refused!.headers.get('ratelimit-policy')).toBe('"default";q=100;w=60')
        // Another user is not affected.
        const other = await newUser(base, 'calm')
        expect((await other.http.get('/api/users/me', other.token)).status).toBe(200)
      })
    })

    describe('business profiles', () => {
      it('creates, reads, lists with pagination, updates and deletes, owner-only', async () => {
        const owner = await newUser(base, 'owner')
        const stranger = await newUser(base, 'stranger')
        const { http } = owner
        const created = await http.post('/api/business-profiles', sampleProfile, owner.token)
        expect(created.status).toBe(201)
        expect(created.body).toMatchObject(sampleProfile)
        expect(created.headers.get('location')).toBe(`/api/business-profiles/${created.body.id}`)
        const id = created.body.id as string

        expect((await http.get(`/api/business-profiles/${id}`, owner.token)).body).toMatchObject(
          sampleProfile,
        )
        // Someone else's profile does not exist, whatever they try.
        expect((await stranger.http.get(`/api/business-profiles/${id}`, stranger.token)).status).toBe(404)
        expect(
          (await stranger.http.patch(`/api/business-profiles/${id}`, { name: 'Mine' }, stranger.token))
            .status,
        ).toBe(404)
        expect((await stranger.http.delete(`/api/business-profiles/${id}`, stranger.token)).status).toBe(404)
        expect((await stranger.http.get('/api/business-profiles', stranger.token)).body.total).toBe(0)
        expect((await http.get('/api/business-profiles/not-a-uuid', owner.token)).status).toBe(404)

        for (let i = 0; i < 4; i++) {
          await http.post('/api/business-profiles', { ...sampleProfile, name: `Branch ${i}` }, owner.token)
        }
        const page1 = await http.get('/api/business-profiles?page=1&limit=2', owner.token)
        expect(page1.body).toMatchObject({ page: 1, limit: 2, total: 5, totalPages: 3 })
        expect(page1.body.items).toHaveLength(2)
        const page3 = await http.get('/api/business-profiles?page=3&limit=2', owner.token)
        expect(page3.body.items).toHaveLength(1)
        const all = new Set(
          [page1, await http.get('/api/business-profiles?page=2&limit=2', owner.token), page3].flatMap((p) =>
            p.body.items.map((item: { id: string }) => item.id),
          ),
        )
        expect(all.size).toBe(5)
        // Past the last page: no items, and still the total.
        const past = await http.get('/api/business-profiles?page=4&limit=2', owner.token)
        expect(past.body).toMatchObject({ items: [], page: 4, total: 5, totalPages: 3 })
        expect((await http.get('/api/business-profiles?limit=500', owner.token)).status).toBe(400)

        const patched = await http.patch(`/api/business-profiles/${id}`, { location: 'Porto' }, owner.token)
        expect(patched.body).toMatchObject({ ...sampleProfile, location: 'Porto' })
        expect((await http.get(`/api/business-profiles/${id}`, owner.token)).body.location).toBe('Porto')
        // The cached lists follow the change.
        const listed = (await http.get('/api/business-profiles?limit=10', owner.token)).body.items
        expect(listed.find((item: { id: string }) => item.id === id).location).toBe('Porto')

        expect((await http.delete(`/api/business-profiles/${id}`, owner.token)).status).toBe(204)
        expect((await http.get(`/api/business-profiles/${id}`, owner.token)).status).toBe(404)
        expect((await http.get('/api/business-profiles', owner.token)).body.total).toBe(4)
      })

      it('answers invalid profiles with 400 and field errors, writing nothing', async () => {
        const user = await newUser(base, 'invalid')
        const { http } = user
        const res = await http.post(
          '/api/business-profiles',
          { name: '', industry: 'x', foundingDate: '2021-02-30', location: 'Oslo', owner: 'me' },
          user.token,
        )
        expect(res.status).toBe(400)
        const fields = res.body.errors.map((e: { field: string }) => e.field)
        expect(fields).toEqual(expect.arrayContaining(['name', 'foundingDate']))
        const future = await http.post(
          '/api/business-profiles',
          { ...sampleProfile, foundingDate: '2999-01-01' },
          user.token,
        )
        expect(future.status).toBe(400)
        expect(future.body.errors[0].field).toBe('foundingDate')
        expect((await http.get('/api/business-profiles', user.token)).body.total).toBe(0)

        const created = await http.post('/api/business-profiles', sampleProfile, user.token)
        const empty = await http.patch(`/api/business-profiles/${created.body.id}`, {}, user.token)
        expect(empty.status).toBe(400)
        const badPatch = await http.patch(
          `/api/business-profiles/${created.body.id}`,
          { name: '' },
          user.token,
        )
        expect(badPatch.status).toBe(400)
        expect((await http.get(`/api/business-profiles/${created.body.id}`, user.token)).body.name).toBe(
          sampleProfile.name,
        )
      })
    })

    describe('content', () => {
      it('serves the daily horoscope once per profile and day, by id, and paginated', async () => {
        const user = await newUser(base, 'stars')
        const { http } = user
        const profile = (await http.post('/api/business-profiles', sampleProfile, user.token)).body
        // The list is cached: generating the day's content must invalidate it.
        expect((await http.get('/api/content?page=1&limit=10', user.token)).body.total).toBe(0)
        const daily = await http.get(`/api/content/daily?profileId=${profile.id}`, user.token)
        expect(daily.status).toBe(200)
        // A JSON API's security headers (OWASP REST): nothing may load or frame it, no sniffing.
        expect(daily.headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'")
        expect(daily.headers.get('x-content-type-options')).toBe('nosniff')
        expect(daily.headers.get('x-frame-options')).toBe('DENY')
        expect(daily.headers.get('strict-transport-security')).toMatch(/^max-age=31536000/)
        expect(daily.headers.get('x-powered-by')).toBeNull()
        expect(daily.body).toMatchObject({
          profileId: profile.id,
          kind: 'daily',
          date: new Date().toISOString().slice(0, 10),
        })
        expect(daily.body.body).toContain('Nebula Bakery')
        expect(daily.body.data.sign).toBe('Aries')
        expect(['astro', 'template']).toContain(daily.body.source)
        const again = await http.get(`/api/content/daily?profileId=${profile.id}`, user.token)
        expect(again.body.id).toBe(daily.body.id)

        const byId = await http.get(`/api/content/${daily.body.id}`, user.token)
        expect(byId.body).toMatchObject({ id: daily.body.id, title: daily.body.title })
        const etag = (await http.get(`/api/content/${daily.body.id}`, user.token)).headers.get('etag')
        expect(etag).toBeTruthy()
        const notModified = await http.request('GET', `/api/content/${daily.body.id}`, {
          token: user.token,
          headers: { 'if-none-match': etag! },
        })
        expect(notModified.status).toBe(304)
        const list = await http.get('/api/content?page=1&limit=10', user.token)
        expect(list.body).toMatchObject({ total: 1, page: 1, limit: 10 })
        expect(list.body.items[0].id).toBe(daily.body.id)

        const stranger = await newUser(base, 'peeker')
        expect((await stranger.http.get(`/api/content/${daily.body.id}`, stranger.token)).status).toBe(404)
        expect(
          (await stranger.http.get(`/api/content/daily?profileId=${profile.id}`, stranger.token)).status,
        ).toBe(404)
        expect((await http.get('/api/content/daily', user.token)).status).toBe(400)
        expect((await http.get('/api/content/daily?profileId=nope', user.token)).body.errors[0].field).toBe(
          'profileId',
        )
      })

      it('limits content to 200 per minute for free users', async () => {
        const user = await newUser(base, 'reader')
        const first = await user.http.get('/api/content', user.token)
        expect(first.headers.get('ratelimit-policy')).toBe('"default";q=200;w=60')
        expect(first.headers.get('ratelimit')).toMatch(/^"default";r=199;t=\d+$/)
      })
    })

    describe('reports and notifications', () => {
      it('runs the monthly report as a job and notifies after a delay', async () => {
        const user = await newUser(base, 'report')
        const { http } = user
        const profile = (await http.post('/api/business-profiles', sampleProfile, user.token)).body
        const queued = await http.post(
          '/api/reports/monthly',
          { profileId: profile.id, month: '2026-10' },
          user.token,
        )
        expect(queued.status).toBe(202)
        expect(queued.body).toMatchObject({ status: 'queued', month: '2026-10', priority: 'LOW' })
        const id = queued.body.id as string
        let report: any
        await waitUntil(
          async () => {
            report = (await http.get(`/api/reports/${id}`, user.token)).body
            return report.status === 'completed'
          },
          { timeoutMs: 20_000, intervalMs: 100, what: 'the report to complete' },
        )
        expect(report.result.title).toContain('Nebula Bakery')
        expect(report.completedAt).toBeTruthy()
        await waitUntil(
          async () => (await http.get('/api/users/me/notifications', user.token)).body.items.length > 0,
          { timeoutMs: 20_000, intervalMs: 100, what: 'the delayed notification' },
        )
        const stranger = await newUser(base, 'snoop')
        expect((await stranger.http.get(`/api/reports/${id}`, stranger.token)).status).toBe(404)
        expect(
          (await http.post('/api/reports/monthly', { profileId: profile.id, month: '2026-13' }, user.token))
            .status,
        ).toBe(400)
        expect(
          (
            await http.post(
              '/api/reports/monthly',
              { profileId: '00000000-0000-4000-8000-000000000000' },
              user.token,
            )
          ).status,
        ).toBe(404)
      })
    })

    describe('analytics', () => {
      it('accepts events, batches them into the shards, and summarises for admins only', async () => {
        const user = await newUser(base, 'events')
        const type = `t_${Math.random().toString(36).slice(2, 8)}`
        const accepted = await user.http.post(
          '/api/analytics/events',
          {
            events: [
              { type, properties: { page: '/a' } },
              { type, occurredAt: new Date().toISOString() },
            ],
          },
          user.token,
        )
        expect(accepted.status).toBe(202)
        expect(accepted.body.accepted).toBe(2)
        const invalid = await user.http.post(
          '/api/analytics/events',
          { events: [{ type: 'Bad Type!' }] },
          user.token,
        )
        expect(invalid.status).toBe(400)
        expect(invalid.body.errors[0].field).toBe('events.0.type')
        expect((await user.http.post('/api/analytics/events', { events: [] }, user.token)).status).toBe(400)

        expect((await user.http.get('/api/analytics/summary', user.token)).status).toBe(403)
        const admin = await newUser(base, 'admin', 'admin@corp-astro.test')
        await waitUntil(
          async () => {
            const summary = await admin.http.get('/api/analytics/summary?days=1', admin.token)
            expect(summary.status).toBe(200)
            return summary.body.types.some(
              (row: { type: string; events: number }) => row.type === type && row.events === 2,
            )
          },
          { timeoutMs: 20_000, intervalMs: 100, what: 'the analytics batch' },
        )
      })
    })

    describe('operations', () => {
      it('answers the probes and exports every package to Prometheus', async () => {
        const http = client(base)
        expect((await http.get('/livez')).status).toBe(200)
        const ready = await http.get('/readyz')
        expect(ready.status).toBe(200)
        const health = await http.get('/health')
        expect(health.headers.get('content-type')).toContain('application/health+json')
        expect(['pass', 'warn']).toContain(health.body.status)
        const metrics = await http.get('/metrics')
        expect(metrics.status).toBe(200)
        for (const family of [
          'cache_hits_total',
          'rate_limit_decisions_total',
          'queue_jobs_waiting',
          'breaker_state',
          'health_status',
        ]) {
          expect(metrics.body).toContain(`# TYPE headroom_${family} `)
        }
        expect(metrics.body).toContain('http_request_duration_seconds_bucket')
      })

      it('answers unknown routes with a problem+json 404', async () => {
        const res = await client(base).get('/api/nothing-here')
        expect(res.status).toBe(404)
        expect(res.body).toMatchObject({ status: 404, title: 'Not Found' })
      })
    })
  })
}
