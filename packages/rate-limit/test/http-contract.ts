import { describe, expect, it } from 'vitest'
import { createRateLimiter, type RateLimiter } from '../src/index.js'
import type { ServerFactory } from './http-servers.js'
import { parseSfList } from './structured-fields.js'

/**
 * What every rateLimit() adapter promises, whatever the framework: the same headers,
 * the same 429 problem+json with Retry-After, the same keying and the same skip options.
 */
export function describeRateLimitContract(
  server: ServerFactory,
  track: (limiter: RateLimiter) => RateLimiter,
) {
  const get = (base: string, headers: Record<string, string> = {}) => fetch(`${base}/`, { headers })

  describe(`rateLimit() contract on ${server.name}`, () => {
    it('draft-11 headers parse as Structured Fields and carry every policy', async () => {
      const limiter = track(
        createRateLimiter({
          policies: [
            { name: 'burst', limit: 3, window: '1s' },
            { name: 'daily', limit: 1000, window: '1d' },
          ],
          algorithm: 'fixed-window',
        }),
      )
      const base = await server.serve({ limiter, headers: 'draft-11' })
      const res = await get(base)
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ ok: true })
      expect(parseSfList(res.headers.get('ratelimit-policy')!)).toEqual([
        { value: 'burst', params: { q: 3, w: 1 } },
        { value: 'daily', params: { q: 1000, w: 86400 } },
      ])
      // Canonical serialisation: no spaces inside an item.
      expect(res.headers.get('ratelimit')).toMatch(/^"burst";r=2;t=[01]$/)
    })

    it('draft-11 (the default), draft-8, draft-7 and legacy headers', async () => {
      const limiter = track(createRateLimiter({ algorithm: 'fixed-window', limit: 5, window: '1m' }))
      const res11 = await get(await server.serve({ limiter, key: () => 'a' }))
      expect(res11.headers.get('ratelimit-policy')).toBe('"default";q=5;w=60')
      expect(res11.headers.get('ratelimit')).toMatch(/^"default";r=4;t=\d+$/)
      const res8 = await get(await server.serve({ limiter, headers: 'draft-8', key: () => 'e' }))
      expect(res8.headers.get('ratelimit-policy')).toBe('"default"; q=5; w=60')
      expect(parseSfList(res8.headers.get('ratelimit')!)[0]).toMatchObject({
        value: 'default',
        params: { r: 4 },
      })
      const res7 = await get(await server.serve({ limiter, headers: 'draft-7', key: () => 'b' }))
      expect(res7.headers.get('ratelimit-policy')).toBe('5;w=60')
      expect(res7.headers.get('ratelimit')).toMatch(/^limit=5, remaining=4, reset=\d+$/)
      const before = Math.floor(Date.now() / 1000)
      const legacy = await get(await server.serve({ limiter, headers: 'legacy', key: () => 'c' }))
      expect(legacy.headers.get('x-ratelimit-limit')).toBe('5')
      expect(legacy.headers.get('x-ratelimit-remaining')).toBe('4')
      const reset = Number(legacy.headers.get('x-ratelimit-reset'))
      expect(reset).toBeGreaterThanOrEqual(before)
      expect(reset).toBeLessThanOrEqual(before + 61)
      const none = await get(await server.serve({ limiter, headers: false, key: () => 'd' }))
      expect(none.headers.get('ratelimit')).toBeNull()
      expect(none.headers.get('x-ratelimit-limit')).toBeNull()
    })

    it('answers refusals with 429, Retry-After and application/problem+json', async () => {
      const limiter = track(createRateLimiter({ limit: 2, window: '1m' }))
      const base = await server.serve({ limiter, key: () => 'k' })
      await get(base)
      await get(base)
      const res = await get(base)
      expect(res.status).toBe(429)
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      const retryAfter = Number(res.headers.get('retry-after'))
      expect(Number.isInteger(retryAfter)).toBe(true)
      expect(retryAfter).toBeGreaterThanOrEqual(1)
      expect(retryAfter).toBeLessThanOrEqual(30)
      expect(parseSfList(res.headers.get('ratelimit')!)[0]!.params.r).toBe(0)
      const body = (await res.json()) as Record<string, unknown>
      expect(body).toMatchObject({
        type: 'about:blank',
        title: 'Too Many Requests',
        status: 429,
        retryAfter,
        policy: 'default',
      })
      expect(body.detail).toBe(`Too many requests; retry after ${retryAfter} seconds.`)
    })

    it('statusCode and message shape the refusal', async () => {
      const limiter = track(createRateLimiter({ limit: 1, window: '1m' }))
      const base = await server.serve({ limiter, key: () => 'k', statusCode: 503, message: 'slow down' })
      await get(base)
      const res = await get(base)
      expect(res.status).toBe(503)
      expect(await res.json()).toMatchObject({ status: 503, detail: 'slow down' })
    })

    it('keys IPv6 clients by /56 and folds IPv4-mapped addresses', async () => {
      const limiter = track(createRateLimiter({ limit: 2, window: '1m' }))
      const base = await server.serve({ limiter })
      const from = (ip: string) => get(base, { 'x-forwarded-for': ip })
      expect((await from('2001:db8:1:2300::1')).status).toBe(200)
      expect((await from('2001:db8:1:23ff:ffff:ffff:ffff:2')).status).toBe(200)
      // A third neighbour in the same /56 shares the budget.
      expect((await from('2001:db8:1:2342::7')).status).toBe(429)
      // The next /56 does not.
      expect((await from('2001:db8:1:2400::1')).status).toBe(200)
      expect((await from('203.0.113.9')).status).toBe(200)
      expect((await from('::ffff:203.0.113.9')).status).toBe(200)
      expect((await from('::ffff:cb00:7109')).status).toBe(429)
    })

    it('skip lets requests through uncounted', async () => {
      const limiter = track(createRateLimiter({ limit: 1, window: '1m' }))
      const base = await server.serve({
        limiter,
        key: () => 'k',
        skip: (req) => req.header('x-internal') === '1',
      })
      for (let i = 0; i < 3; i++) {
        const res = await get(base, { 'x-internal': '1' })
        expect(res.status).toBe(200)
        expect(res.headers.get('ratelimit')).toBeNull()
      }
      expect((await get(base)).status).toBe(200)
      expect((await get(base)).status).toBe(429)
    })

    it('skipSuccessfulRequests counts failed logins only (per account)', async () => {
      const limiter = track(createRateLimiter({ algorithm: 'fixed-window', limit: 3, window: '15m' }))
      const base = await server.serve({
        limiter,
        key: (req) => String(req.header('x-email')),
        skipSuccessfulRequests: true,
      })
      const login = (password: string, email = 'a@example.com') =>
        fetch(`${base}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-email': email },
          body: JSON.stringify({ password }),
        })
      for (let i = 0; i < 10; i++) expect((await login('right')).status).toBe(200)
      for (let i = 0; i < 3; i++) expect((await login('wrong')).status).toBe(401)
      expect((await login('right')).status).toBe(429)
      expect((await login('wrong', 'b@example.com')).status).toBe(401)
    })

    it('skipFailedRequests gives back failures, and the refund lands before the next request', async () => {
      const limiter = track(createRateLimiter({ limit: 2, window: '1m' }))
      const base = await server.serve({ limiter, key: () => 'k', skipFailedRequests: true })
      for (let i = 0; i < 5; i++) expect((await fetch(`${base}/fail`)).status).toBe(500)
      expect((await get(base)).status).toBe(200)
      expect((await get(base)).status).toBe(200)
      expect((await get(base)).status).toBe(429)
    })

    it('limit: req => number gives each tier its own limit', async () => {
      const limiter = track(createRateLimiter({ limit: 2, window: '1m' }))
      const tiers: Record<string, number> = { premium: 5 }
      const base = await server.serve({
        limiter,
        key: (req) => String(req.header('x-user')),
        limit: (req) => tiers[String(req.header('x-tier'))],
        headers: 'draft-11',
      })
      const statuses = async (user: string, tier: string) => {
        const out: number[] = []
        for (let i = 0; i < 6; i++) out.push((await get(base, { 'x-user': user, 'x-tier': tier })).status)
        return out
      }
      expect(await statuses('free', 'free')).toEqual([200, 200, 429, 429, 429, 429])
      const premium = await get(base, { 'x-user': 'p', 'x-tier': 'premium' })
      expect(parseSfList(premium.headers.get('ratelimit-policy')!)[0]!.params.q).toBe(5)
      expect(await statuses('p', 'premium')).toEqual([200, 200, 200, 200, 429, 429])
    })

    it('rejects bad options with a TypeError naming the option', async () => {
      await expect(server.serve({ limiter: {} as RateLimiter })).rejects.toThrow(/"limiter"/)
      const limiter = track(createRateLimiter({ limit: 1, window: 1000 }))
      await expect(server.serve({ limiter, headers: 'draft-3' as 'draft-8' })).rejects.toThrow(/"headers"/)
    })
  })
}
