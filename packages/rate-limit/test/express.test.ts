import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describeRedis } from '@headroom/testing'
import express, { type Express } from 'express'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { ipKey, rateLimit, slowDown } from '../src/express.js'
import { createRateLimiter, type RateLimiter } from '../src/index.js'
import { parseSfList } from './structured-fields.js'

const servers: Server[] = []
const limiters: RateLimiter[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    server.close()
  }
  await Promise.all(limiters.splice(0).map((l) => l.close()))
})

const track = (limiter: RateLimiter) => {
  limiters.push(limiter)
  return limiter
}

async function serve(app: Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1')
  servers.push(server)
  await once(server, 'listening')
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function appWith(middleware: express.RequestHandler, configure?: (app: Express) => void): Express {
  const app = express()
  app.set('trust proxy', true)
  configure?.(app)
  app.use(middleware)
  app.get('/', (_req, res) => {
    res.json({ ok: true })
  })
  return app
}

const get = (base: string, headers: Record<string, string> = {}) => fetch(`${base}/`, { headers })

// The promises every adapter shares run in http-contract.test.ts on Express, Fastify and fetch.
describe('rateLimit() over real HTTP (Express only)', () => {
  it('skipSuccessfulRequests counts failed logins only (per account and IP)', async () => {
    const limiter = track(createRateLimiter({ algorithm: 'fixed-window', limit: 3, window: '15m' }))
    const app = express()
    app.set('trust proxy', true)
    app.use(express.json())
    app.post(
      '/login',
      rateLimit({
        limiter,
        key: (req) => `${req.body.email}:${ipKey(req.ip)}`,
        skipSuccessfulRequests: true,
      }),
      (req, res) => {
        res.status(req.body.password === 'right' ? 200 : 401).end()
      },
    )
    const base = await serve(app)
    const login = (password: string, email = 'a@example.com') =>
      fetch(`${base}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      })
    for (let i = 0; i < 10; i++) expect((await login('right')).status).toBe(200)
    for (let i = 0; i < 3; i++) expect((await login('wrong')).status).toBe(401)
    expect((await login('right')).status).toBe(429)
    // Another account from the same IP is unaffected.
    expect((await login('wrong', 'b@example.com')).status).toBe(401)
  })

  it('rejects bad options with a TypeError naming the option', () => {
    expect(() => rateLimit({ limiter: {} as RateLimiter })).toThrow(/"limiter"/)
    const limiter = track(createRateLimiter({ limit: 1, window: 1000 }))
    expect(() => rateLimit({ limiter, headers: 'draft-3' as 'draft-8' })).toThrow(/"headers"/)
    expect(() => slowDown({ limiter, delayAfter: 1 })).toThrow(/fixed-window or sliding-window/)
    // A misspelt option is refused, not ignored.
    expect(() => rateLimit({ limiter, skipSuccessful: true } as never)).toThrow(/"skipSuccessful"/)
    const hits = track(createRateLimiter({ algorithm: 'fixed-window', limit: 1, window: 1000 }))
    expect(() => slowDown({ limiter: hits, delayAfter: 1, delay: 5 } as never)).toThrow(/"delay"/)
  })
})

describe('slowDown() over real HTTP', () => {
  it('delays requests past delayAfter by a growing, capped delay', async () => {
    const limiter = track(createRateLimiter({ algorithm: 'fixed-window', limit: 1, window: '1m' }))
    const app = express()
    app.use(slowDown({ limiter, key: () => 'k', delayAfter: 2, delayMs: 60, maxDelayMs: 100 }))
    app.get('/', (_req, res) => {
      res.json(res.locals.slowDown)
    })
    const base = await serve(app)
    const delays: number[] = []
    const elapsed: number[] = []
    for (let i = 0; i < 5; i++) {
      const started = performance.now()
      const body = (await (await get(base)).json()) as { delayMs: number; hits: number }
      elapsed.push(performance.now() - started)
      delays.push(body.delayMs)
    }
    expect(delays).toEqual([0, 0, 60, 100, 100])
    // The delays really happened (lower bounds only: the machine may be slow, never fast).
    expect(elapsed[2]).toBeGreaterThanOrEqual(55)
    expect(elapsed[3]).toBeGreaterThanOrEqual(95)
  })
})

describeRedis(
  'rateLimit() on Redis',
  (target) => {
    it('shares the budget across two app instances and still answers 429 as problem+json', async () => {
      const redis = target.client()
      const prefix = target.prefix('rlx')
      const a = track(createRateLimiter({ redis, prefix, limit: 3, window: '1m', timeout: 2000 }))
      const b = track(createRateLimiter({ redis, prefix, limit: 3, window: '1m', timeout: 2000 }))
      const baseA = await serve(appWith(rateLimit({ limiter: a, headers: 'draft-11' })))
      const baseB = await serve(appWith(rateLimit({ limiter: b, headers: 'draft-11' })))
      const ip = { 'x-forwarded-for': '2001:db8:77:100::1' }
      expect((await get(baseA, ip)).status).toBe(200)
      expect((await get(baseB, { 'x-forwarded-for': '2001:db8:77:1ff::9' })).status).toBe(200)
      expect((await get(baseA, ip)).status).toBe(200)
      const refused = await get(baseB, ip)
      expect(refused.status).toBe(429)
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      expect(parseSfList(refused.headers.get('ratelimit')!)[0]!.params.r).toBe(0)
    })
  },
  { cluster: false },
)

describe('ipKey', () => {
  it('folds, masks and passes through', () => {
    expect(ipKey('203.0.113.9')).toBe('203.0.113.9')
    expect(ipKey('::ffff:203.0.113.9')).toBe('203.0.113.9')
    expect(ipKey('::FFFF:cb00:7109')).toBe('203.0.113.9')
    expect(ipKey('2001:db8:1234:5678::1')).toBe('2001:db8:1234:5600::/56')
    expect(ipKey('2001:db8:1234:5678::1', 64)).toBe('2001:db8:1234:5678::/64')
    expect(ipKey('fe80::1%eth0')).toBe('fe80:0:0:0::/56')
    expect(ipKey('::1')).toBe('0:0:0:0::/56')
    expect(ipKey(undefined)).toBe('unknown')
    expect(ipKey('not-an-ip')).toBe('not-an-ip')
  })

  const group = fc.integer({ min: 0, max: 0xffff })
  const address = fc.array(group, { minLength: 8, maxLength: 8 })
  const format = (groups: number[]) => groups.map((g) => g.toString(16)).join(':')

  it('two addresses share a key exactly when their first 56 bits match', () => {
    fc.assert(
      fc.property(address, address, (a, b) => {
        // Avoid ::ffff:0:0/96 (IPv4-mapped), which is folded to IPv4 instead.
        fc.pre(!(a.slice(0, 5).every((g) => g === 0) && a[5] === 0xffff))
        fc.pre(!(b.slice(0, 5).every((g) => g === 0) && b[5] === 0xffff))
        const top = (x: number[]) => `${x.slice(0, 3).join(':')}:${x[3]! >> 8}`
        expect(ipKey(format(a)) === ipKey(format(b))).toBe(top(a) === top(b))
        const neighbour = [...a.slice(0, 3), (a[3]! & 0xff00) | (b[3]! & 0xff), ...b.slice(4)]
        expect(ipKey(format(neighbour))).toBe(ipKey(format(a)))
      }),
      { numRuns: 500 },
    )
  })
})
