import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createManualClock } from '@headroom/core'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cacheResponse } from '../src/express.js'
import { createCache } from '../src/index.js'

describe('cacheResponse (express)', () => {
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

  it('MISS then HIT with the same body, ETag and Cache-Control; 304 on If-None-Match', async () => {
    const first = await fetch(`${base}/content/1`)
    expect(first.headers.get('x-cache')).toBe('MISS')
    const body = await first.json()
    const etag = first.headers.get('etag')!
    expect(etag).toBeTruthy()
    await new Promise((resolve) => setTimeout(resolve, 10))
    const second = await fetch(`${base}/content/1`)
    expect(second.headers.get('x-cache')).toBe('HIT')
    expect(second.headers.get('cache-control')).toBe('public, max-age=60')
    expect(second.headers.get('content-type')).toContain('application/json')
    expect(second.headers.get('etag')).toBe(etag)
    expect(await second.json()).toEqual(body)
    expect(calls.content).toBe(1)
    const conditional = await fetch(`${base}/content/1`, { headers: { 'If-None-Match': etag } })
    expect(conditional.status).toBe(304)
    expect(await conditional.text()).toBe('')
    const head = await fetch(`${base}/content/1`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('x-cache')).toBe('HIT')
  })

  it('tag invalidation drops the cached response', async () => {
    await fetch(`${base}/content/2`)
    await new Promise((resolve) => setTimeout(resolve, 10))
    await cache.invalidateTags(['content:2'])
    const after = await fetch(`${base}/content/2`)
    expect(after.headers.get('x-cache')).toBe('MISS')
  })

  it('never shares an authenticated response between users', async () => {
    const alice = await fetch(`${base}/me`, { headers: { Authorization: 'Bearer alice' } })
    expect(await alice.json()).toEqual({ user: 'Bearer alice' })
    await new Promise((resolve) => setTimeout(resolve, 10))
    const bob = await fetch(`${base}/me`, { headers: { Authorization: 'Bearer bob' } })
    expect(bob.headers.get('x-cache')).toBe('MISS')
    expect(await bob.json()).toEqual({ user: 'Bearer bob' })
    const aliceAgain = await fetch(`${base}/me`, { headers: { Authorization: 'Bearer alice' } })
    expect(aliceAgain.headers.get('x-cache')).toBe('HIT')
    expect(aliceAgain.headers.get('cache-control')).toBe('private, max-age=60')
    expect(await aliceAgain.json()).toEqual({ user: 'Bearer alice' })
  })

  it('refuses to cache an authenticated request on a route without a user key', async () => {
    for (const who of ['alice', 'bob']) {
      const res = await fetch(`${base}/shared`, { headers: { Authorization: `Bearer ${who}` } })
      expect(res.headers.get('x-cache')).toBe('BYPASS')
      expect(await res.json()).toEqual({ user: `Bearer ${who}` })
    }
  })

  it('does not cache responses that set cookies or say no-store', async () => {
    for (let i = 0; i < 2; i++) {
      await fetch(`${base}/cookie`)
      await fetch(`${base}/nostore`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(calls.cookie).toBe(2)
    expect(calls.nostore).toBe(2)
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
  })
})
