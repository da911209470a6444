import { request } from 'node:http'
import { gunzipSync } from 'node:zlib'
import { createManualClock } from '@headroom/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Cache, createCache } from '../src/index.js'
import { type CacheServerFactory, LARGE, type Route } from './http-servers.js'

interface Raw {
  status: number
  headers: Record<string, string | string[] | undefined>
  bytes: Buffer
}

/** A request with exactly the headers given (fetch would add Accept-Encoding and decode for us). */
function raw(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, method }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes: Buffer.concat(chunks) }),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

const json = (r: Raw) => JSON.parse(r.bytes.toString('utf8')) as unknown
/** The cache stores after the response is sent: give the write a moment. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20))

/**
 * What every cacheResponse() adapter promises, whatever the framework: ETag/304 and
 * Cache-Control, no authenticated response shared between users (or cached without a user
 * key), no Set-Cookie/no-store responses stored, identity body stored and the encoding
 * chosen per request, request-scoped headers never replayed.
 */
export function describeCacheResponseContract(server: CacheServerFactory) {
  describe(`cacheResponse() contract on ${server.name}`, () => {
    let cache: Cache
    let base: string
    let calls: Map<Route, number>

    beforeAll(async () => {
      cache = createCache({ prefix: `http-contract-${server.name}`, clock: createManualClock(0) })
      ;({ base, calls } = await server.serve((route) => {
        if (route === 'content')
          return { cache, ttl: 60_000, tags: (req) => [`content:${req.path.split('/')[2]}`] }
        if (route === 'me')
          return {
            cache,
            user: (req) => (req.header('authorization') ?? '').replace('Bearer ', '') || undefined,
          }
        return { cache }
      }))
    })
    afterAll(async () => {
      await cache.close()
    })

    it('MISS then HIT with the same body, ETag and Cache-Control; 304 on If-None-Match; HEAD', async () => {
      const first = await raw(`${base}/content/1`)
      expect(first.status).toBe(200)
      expect(first.headers['x-cache']).toBe('MISS')
      const etag = String(first.headers.etag)
      expect(etag).toMatch(/^"/)
      expect(first.headers['cache-control']).toBe('public, max-age=60')
      await settle()
      const second = await raw(`${base}/content/1`)
      expect(second.headers['x-cache']).toBe('HIT')
      expect(second.headers['cache-control']).toBe('public, max-age=60')
      expect(second.headers['content-type']).toContain('application/json')
      expect(second.headers.etag).toBe(etag)
      expect(Number(second.headers['content-length'])).toBe(second.bytes.length)
      expect(json(second)).toEqual(json(first))
      expect(calls.get('content')).toBe(1)
      const conditional = await raw(`${base}/content/1`, { 'If-None-Match': `W/${etag}, "other"` })
      expect(conditional.status).toBe(304)
      expect(conditional.bytes.length).toBe(0)
      const head = await raw(`${base}/content/1`, {}, 'HEAD')
      expect(head.status).toBe(200)
      expect(head.headers['x-cache']).toBe('HIT')
      expect(head.bytes.length).toBe(0)
      expect(calls.get('content')).toBe(1)
    })

    it('tag invalidation drops the cached response', async () => {
      await raw(`${base}/content/2`)
      await settle()
      expect((await raw(`${base}/content/2`)).headers['x-cache']).toBe('HIT')
      await cache.invalidateTags(['content:2'])
      expect((await raw(`${base}/content/2`)).headers['x-cache']).toBe('MISS')
    })

    it('never shares an authenticated response between users', async () => {
      const alice = await raw(`${base}/me`, { Authorization: 'Bearer alice' })
      expect(json(alice)).toEqual({ user: 'Bearer alice' })
      await settle()
      const bob = await raw(`${base}/me`, { Authorization: 'Bearer bob' })
      expect(bob.headers['x-cache']).toBe('MISS')
      expect(json(bob)).toEqual({ user: 'Bearer bob' })
      const aliceAgain = await raw(`${base}/me`, { Authorization: 'Bearer alice' })
      expect(aliceAgain.headers['x-cache']).toBe('HIT')
      expect(aliceAgain.headers['cache-control']).toBe('private, max-age=60')
      expect(json(aliceAgain)).toEqual({ user: 'Bearer alice' })
    })

    it('refuses to cache an authenticated request on a route without a user key (Authorization or Cookie)', async () => {
      const clients: Array<Record<string, string>> = [
        { Authorization: 'Bearer alice' },
        { Authorization: 'Bearer bob' },
        { Cookie: 's=1' },
      ]
      for (const headers of clients) {
        const res = await raw(`${base}/shared`, headers)
        expect(res.headers['x-cache']).toBe('BYPASS')
        expect(json(res)).toEqual({ user: headers.Authorization ?? null })
        await settle()
      }
      expect(calls.get('shared')).toBe(3)
    })

    it('does not cache responses that set cookies or say no-store', async () => {
      for (let i = 0; i < 2; i++) {
        await raw(`${base}/cookie`)
        await raw(`${base}/nostore`)
        await settle()
      }
      expect(calls.get('cookie')).toBe(2)
      expect(calls.get('nostore')).toBe(2)
    })

    it('stores the identity body and chooses the encoding per request', async () => {
      const clients = [undefined, 'gzip', 'identity', 'gzip;q=0', 'br', 'gzip, deflate, br'] as const
      for (const first of ['gzip', undefined] as const) {
        await cache.delete('http:GET:/gz')
        const seen: string[] = []
        for (const client of [first, ...clients]) {
          const res = await raw(`${base}/gz`, client === undefined ? {} : { 'Accept-Encoding': client })
          seen.push(String(res.headers['x-cache']))
          const encoding = res.headers['content-encoding']
          const body =
            encoding === 'gzip' ? gunzipSync(res.bytes).toString('utf8') : res.bytes.toString('utf8')
          // The first response is the app's own (gzip whatever the client); replays follow Accept-Encoding.
          if (seen.length > 1) {
            const acceptsGzip = client !== undefined && /gzip(?!;q=0)/.test(client)
            expect(encoding, `client ${client}`).toBe(acceptsGzip ? 'gzip' : undefined)
            expect(String(res.headers.vary)).toMatch(/accept-encoding/i)
          }
          expect(body, `client ${client}`).toBe(LARGE)
          await settle()
        }
        expect(seen[0]).toBe('MISS')
        expect(seen.slice(1).every((s) => s === 'HIT')).toBe(true)
      }
    })

    it('a HIT replays neither Date, Retry-After nor X-RateLimit-* from the stored response', async () => {
      await raw(`${base}/scoped`)
      await settle()
      const hit = await raw(`${base}/scoped`)
      expect(hit.headers['x-cache']).toBe('HIT')
      expect(hit.headers['retry-after']).toBeUndefined()
      expect(hit.headers['x-ratelimit-remaining']).toBeUndefined()
      expect(hit.headers.date).not.toBe('Thu, 01 Jan 2026 00:00:01 GMT')
    })

    it('validates its options', async () => {
      await expect(server.serve(() => ({ cache: undefined as never }))).rejects.toThrow(/"cache"/)
      await expect(server.serve(() => ({ cache, ttl: -1 }))).rejects.toThrow(/"ttl"/)
    })
  })
}
