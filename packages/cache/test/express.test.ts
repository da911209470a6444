import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createManualClock } from '@headroom/core'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cacheResponse } from '../src/express.js'
import { createCache } from '../src/index.js'

// The promises every adapter shares run in http-contract.test.ts on Express, Fastify and fetch.
describe('cacheResponse (express only)', () => {
  const cache = createCache({ prefix: 'http-test', clock: createManualClock(0) })
  const calls = { content: 0, me: 0, cookie: 0, nostore: 0 }
  let server: Server
  let base: string

  beforeAll(async () => {
    const app = express()
    app.get(
      '/content/:id',
      cacheResponse({ cache, ttl: 60_000, tags: (req) => [`content:${req.params.id}`] }),
      (req, res) => {
        calls.content++
        res.type('json').send({ id: req.params.id, n: calls.content })
      },
    )
    app.get(
      '/me',
      cacheResponse({
        cache,
        user: (req) => (req.headers.authorization ?? '').replace('Bearer ', '') || undefined,
      }),
      (req, res) => {
        calls.me++
        res.json({ user: req.headers.authorization })
      },
    )
    app.get('/shared', cacheResponse({ cache }), (req, res) => {
      res.json({ user: req.headers.authorization ?? null })
    })
    app.get('/cookie', cacheResponse({ cache }), (_req, res) => {
      calls.cookie++
      res.cookie('session', 'abc').json({ ok: true })
    })
    app.get('/nostore', cacheResponse({ cache }), (_req, res) => {
      calls.nostore++
      res.set('Cache-Control', 'no-store').json({ ok: true })
    })
    app.get('/stream', cacheResponse({ cache }), (_req, res) => {
      res.type('text')
      res.write('hello ')
      res.end('world')
    })
    await new Promise<void>((resolve) => {
      server = app.listen(0, '127.0.0.1', () => resolve())
    })
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
    await cache.close()
  })

  it('caches streamed (write + end) bodies', async () => {
    expect(await (await fetch(`${base}/stream`)).text()).toBe('hello world')
    await new Promise((resolve) => setTimeout(resolve, 10))
    const hit = await fetch(`${base}/stream`)
    expect(hit.headers.get('x-cache')).toBe('HIT')
    expect(await hit.text()).toBe('hello world')
  })

  it('validates its options', () => {
    expect(() => cacheResponse({ cache: undefined as never })).toThrow(/"cache"/)
    expect(() => cacheResponse({ cache, ttl: -1 })).toThrow(/"ttl"/)
    expect(() => cacheResponse({ cache, ttlMs: 1000 } as never)).toThrow(/unknown option|"ttlMs"/)
  })
})
