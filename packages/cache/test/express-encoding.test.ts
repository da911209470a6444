import { once } from 'node:events'
import { request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib'
import { createManualClock } from '@headroom/core'
import { createRateLimiter } from '@headroom/rate-limit'
import { rateLimit } from '@headroom/rate-limit/express'
import compression from 'compression'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cacheResponse } from '../src/express.js'
import { createCache } from '../src/index.js'

/** compression's default threshold is 1 kB: one body well above it, one below. */
const LARGE = JSON.stringify({ text: 'astro '.repeat(2000) })
const SMALL = JSON.stringify({ text: 'astro' })

interface Raw {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** The body as sent, before any decoding. */
  bytes: Buffer
}

/** A GET with exactly the headers given (fetch would add Accept-Encoding and decode for us). */
function rawGet(url: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
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

/** Decodes the body as its Content-Encoding says; throws when the label does not match the bytes. */
function decoded(raw: Raw): string {
  const encoding = String(raw.headers['content-encoding'] ?? 'identity')
  if (encoding === 'gzip') return gunzipSync(raw.bytes).toString('utf8')
  if (encoding === 'deflate') return inflateSync(raw.bytes).toString('utf8')
  if (encoding === 'br') return brotliDecompressSync(raw.bytes).toString('utf8')
  if (encoding === 'identity') return raw.bytes.toString('utf8')
  throw new Error(`unexpected Content-Encoding ${encoding}`)
}

const accepts = (encoding: string | undefined): Record<string, string> =>
  encoding === undefined ? {} : { 'Accept-Encoding': encoding }

describe('cacheResponse with compression()', () => {
  const cache = createCache({ prefix: 'http-enc', clock: createManualClock(0) })
  let server: Server
  let base: string
  const calls = new Map<string, number>()

  beforeAll(async () => {
    const app = express()
    const handler = (body: string) => (req: express.Request, res: express.Response) => {
      calls.set(req.path, (calls.get(req.path) ?? 0) + 1)
      res.type('json').send(body)
    }
    // compression in front of the cache: the cache sees the plain body, compression the replay.
    const front = express.Router()
    front.use(compression())
    front.get('/large', cacheResponse({ cache }), handler(LARGE))
    front.get('/small', cacheResponse({ cache }), handler(SMALL))
    // compression behind the cache: the cache sees what compression wrote.
    const behind = express.Router()
    behind.get('/large', cacheResponse({ cache }), compression(), handler(LARGE))
    behind.get('/small', cacheResponse({ cache }), compression(), handler(SMALL))
    app.use('/front', front)
    app.use('/behind', behind)
    server = app.listen(0, '127.0.0.1')
    await once(server, 'listening')
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    server.close()
    await cache.close()
  })

  // Every order of clients: the first (the MISS that stores) with or without gzip, then HITs of both kinds.
  for (const where of ['front', 'behind'] as const)
    for (const size of ['large', 'small'] as const)
      for (const first of ['gzip', undefined] as const)
        it(`${where}, ${size} body, first client ${first ?? 'without Accept-Encoding'}: every reply decodes to the original`, async () => {
          calls.clear()
          // A query string of its own: this test's MISS stores a fresh entry.
          const url = `${base}/${where}/${size}?case=${where}-${size}-${first ?? 'none'}`
          const original = size === 'large' ? LARGE : SMALL
          const clients = [
            first,
            'gzip',
            undefined,
            'gzip, deflate, br',
            'identity',
            'gzip;q=0',
            'br',
          ] as const
          const seen: string[] = []
          for (const client of clients) {
            const raw = await rawGet(url, accepts(client))
            expect(raw.status).toBe(200)
            seen.push(String(raw.headers['x-cache']))
            const encoding = raw.headers['content-encoding']
            // A body is encoded only in something the client accepts, and the label matches the bytes.
            if (client === undefined || client === 'identity' || client === 'gzip;q=0')
              expect(encoding, `client ${client}`).toBeUndefined()
            expect(decoded(raw), `client ${client}`).toBe(original)
            if (encoding !== undefined) expect(String(raw.headers.vary)).toMatch(/accept-encoding/i)
            if (raw.headers['content-length'] !== undefined)
              expect(Number(raw.headers['content-length'])).toBe(raw.bytes.length)
          }
          expect(seen[0]).toBe('MISS')
          expect(seen.slice(1).every((s) => s === 'HIT')).toBe(true)
          expect(calls.get(`/${size}`)).toBe(1)
        })

  it('a large body to a gzip client is still sent compressed on a HIT (front and behind)', async () => {
    for (const where of ['front', 'behind']) {
      const url = `${base}/${where}/large?case=compressed-hit`
      await rawGet(url, accepts('gzip'))
      const hit = await rawGet(url, accepts('gzip'))
      expect(hit.headers['x-cache']).toBe('HIT')
      expect(hit.headers['content-encoding']).toBe('gzip')
      expect(hit.bytes.length).toBeLessThan(LARGE.length / 4)
      expect(decoded(hit)).toBe(LARGE)
    }
  })
})

describe('cacheResponse behind rateLimit', () => {
  const cache = createCache({ prefix: 'http-rl', clock: createManualClock(0) })
  // A manual clock: a fixed window that closed mid-test would restart the count.
  const limiter = createRateLimiter({
    limit: 10,
    window: '1m',
    algorithm: 'fixed-window',
    clock: createManualClock(0),
  })
  let server: Server
  let base: string

  beforeAll(async () => {
    const app = express()
    app.use(rateLimit({ limiter, key: () => 'one-client', headers: 'draft-7' }))
    app.get('/content', cacheResponse({ cache }), (_req, res) => {
      res.json({ ok: true })
    })
    app.get(
      '/legacy',
      rateLimit({ limiter, key: () => 'legacy', headers: 'legacy' }),
      cacheResponse({ cache }),
      (_req, res) => {
        res.setHeader('Retry-After', '5')
        res.setHeader('Date', 'Thu, 01 Jan 2026 00:00:00 GMT')
        res.json({ ok: true })
      },
    )
    server = app.listen(0, '127.0.0.1')
    await once(server, 'listening')
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    server.close()
    await cache.close()
    await limiter.close()
  })

  it("a HIT carries this request's RateLimit headers, not the stored response's", async () => {
    const remaining: string[] = []
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${base}/content`)
      expect(res.headers.get('x-cache')).toBe(i === 0 ? 'MISS' : 'HIT')
      remaining.push(/remaining=(\d+)/.exec(res.headers.get('ratelimit') ?? '')?.[1] ?? '?')
      await res.text()
    }
    expect(remaining).toEqual(['9', '8', '7'])
  })

  it('a HIT replays neither X-RateLimit-*, Retry-After nor Date from the stored response', async () => {
    await fetch(`${base}/legacy`).then((r) => r.text())
    const hit = await fetch(`${base}/legacy`)
    await hit.text()
    expect(hit.headers.get('x-cache')).toBe('HIT')
    // The first request used 2 units (the app-wide limiter and this route's), this one 2 more.
    expect(hit.headers.get('x-ratelimit-remaining')).toBe('8')
    expect(hit.headers.get('retry-after')).toBeNull()
    expect(hit.headers.get('date')).not.toBe('Thu, 01 Jan 2026 00:00:00 GMT')
  })
})
