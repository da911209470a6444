import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createManualClock } from '@headroom/core'
import { createRateLimiter } from '@headroom/rate-limit'
import { rateLimit } from '@headroom/rate-limit/fetch'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cacheResponse } from '../src/fetch.js'
import { createCache } from '../src/index.js'

// The contract every adapter passes runs in http-contract.test.ts; this is the Hono chain.
describe('cacheResponse behind rateLimit on Hono', () => {
  const cache = createCache({ prefix: 'http-hono', clock: createManualClock(0) })
  // A manual clock: a fixed window that closed mid-test would restart the count.
  const limiter = createRateLimiter({
    limit: 10,
    window: '1m',
    algorithm: 'fixed-window',
    clock: createManualClock(0),
  })
  let server: Server
  let base: string
  let calls = 0

  beforeAll(async () => {
    const app = new Hono()
    app.use(rateLimit({ limiter, key: () => 'one-client', headers: 'draft-7' }))
    app.get('/content', cacheResponse({ cache }), (c) => {
      calls++
      return c.json({ ok: true })
    })
    server = createAdaptorServer({ fetch: app.fetch }) as Server
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    server.close()
    await cache.close()
    await limiter.close()
  })

  it("a HIT carries this request's RateLimit headers, and the 429 is the limiter's", async () => {
    const remaining: string[] = []
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${base}/content`)
      expect(res.headers.get('x-cache')).toBe(i === 0 ? 'MISS' : 'HIT')
      remaining.push(/remaining=(\d+)/.exec(res.headers.get('ratelimit') ?? '')?.[1] ?? '?')
      expect(await res.json()).toEqual({ ok: true })
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(remaining).toEqual(['9', '8', '7'])
    expect(calls).toBe(1)
    for (let i = 0; i < 7; i++) await (await fetch(`${base}/content`)).text()
    const refused = await fetch(`${base}/content`)
    expect(refused.status).toBe(429)
    expect(refused.headers.get('x-cache')).toBeNull()
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/)
  })
})
