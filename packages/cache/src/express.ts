import { createHash } from 'node:crypto'
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib'
import { childLogger, type Logger } from '@headroom/core'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { Cache } from './types.js'

/** Options of {@link cacheResponse}. */
export interface CacheResponseOptions {
  /** The cache responses are stored in. */
  cache: Cache
  /** Time to live of a cached response, in ms. @default 60000 */
  ttl?: number
  /**
   * The cache key of a request; `undefined` skips caching for it.
   * @default `${req.method === 'HEAD' ? 'GET' : req.method}:${req.originalUrl}`
   */
  key?: (req: Request) => string | undefined
  /**
   * Who the request is for, when it is authenticated. An authenticated request is cached
   * only when this returns an id, which becomes part of the key: one user's response is
   * never served to another.
   * @default undefined (authenticated requests are never cached)
   */
  user?: (req: Request) => string | undefined
  /**
   * Whether a request is authenticated.
   * @default an `Authorization` or `Cookie` header is present
   */
  isAuthenticated?: (req: Request) => boolean
  /** Tags stored with the response, for `cache.invalidateTags`. @default none */
  tags?: (req: Request) => string[] | undefined
  /** Status codes that are cached. @default [200] */
  statuses?: number[]
  /** Prefix of every key this middleware writes. @default 'http:' */
  keyPrefix?: string
  /** A logger for refusals (said once per route). @default silent */
  logger?: Logger
}

/** What is stored per response. */
interface CachedResponse {
  /** Layout version: an entry of another layout is treated as a miss. */
  v: 2
  status: number
  headers: Record<string, string>
  /** The identity (unencoded) body, base64. */
  body: string
  etag: string
  /**
   * The body as the app encoded it (a compression middleware behind this one), base64,
   * replayed as is to clients that accept `encoding`; the others get `body`.
   */
  encoded?: { encoding: string; body: string }
}

/**
 * Headers never stored: per-connection, owned by this middleware, describing the bytes on
 * the wire (the body is stored unencoded), or belonging to one request (its date, its
 * rate-limit state) and set afresh for each one.
 */
const SKIPPED_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'date',
  'etag',
  'cache-control',
  'x-cache',
  'content-length',
  'content-encoding',
  'set-cookie',
  'retry-after',
  'age',
  'server-timing',
  'x-request-id',
  'x-response-time',
])
const isRequestScoped = (name: string) =>
  SKIPPED_HEADERS.has(name) || name.startsWith('ratelimit') || name.startsWith('x-ratelimit-')

/** Encodings this middleware can turn back into the identity body. */
const DECODERS: Record<string, (body: Buffer) => Buffer> = {
  gzip: (body) => gunzipSync(body),
  'x-gzip': (body) => gunzipSync(body),
  deflate: (body) => inflateSync(body),
  br: (body) => brotliDecompressSync(body),
}

const defaultAuthenticated = (req: Request) =>
  req.headers.authorization !== undefined || req.headers.cookie !== undefined

/**
 * Caches GET/HEAD responses in a Headroom cache, with ETag / 304 and `Cache-Control`.
 * A response to an authenticated request is cached only per user (see `user`), and a
 * response that sets a cookie, or says `no-store`/`private` without a user key, is
 * never cached.
 *
 * @example
 * import express from 'express'
 * import { createCache } from '@headroom/cache'
 * import { cacheResponse } from '@headroom/cache/express'
 *
 * const cache = createCache({ prefix: 'web' })
 * const app = express()
 * app.get('/content/:id', cacheResponse({ cache, ttl: 60_000, tags: (req) => [`content:${req.params.id}`] }), handler)
 * app.get('/me', auth, cacheResponse({ cache, user: (req) => req.user?.id }), meHandler)
 */
export function cacheResponse(options: CacheResponseOptions): RequestHandler {
  const { cache } = options
  if (!cache || typeof cache.get !== 'function') {
    throw new TypeError('Invalid cacheResponse option "cache": expected a cache from createCache()')
  }
  const ttl = options.ttl ?? 60_000
  if (!(Number.isFinite(ttl) && ttl > 0)) {
    throw new TypeError(
      `Invalid cacheResponse option "ttl": expected a positive number of ms (received ${ttl})`,
    )
  }
  const statuses = new Set(options.statuses ?? [200])
  const keyPrefix = options.keyPrefix ?? 'http:'
  const keyOf =
    options.key ?? ((req: Request) => `${req.method === 'HEAD' ? 'GET' : req.method}:${req.originalUrl}`)
  const isAuthenticated = options.isAuthenticated ?? defaultAuthenticated
  const logger = childLogger(options.logger, { component: 'headroom-cache-express' })
  const maxAge = Math.floor(ttl / 1000)
  const refusedRoutes = new Set<string>()

  return function cacheResponseMiddleware(req: Request, res: Response, next: NextFunction) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next()
    const base = keyOf(req)
    if (base === undefined) return next()
    let key = keyPrefix + base
    let scope: 'public' | 'private' = 'public'
    if (isAuthenticated(req)) {
      const user = options.user?.(req)
      if (user === undefined || user === '') {
        // Sharing an authenticated response would leak one user's data to another.
        const route = req.route?.path ?? req.path
        if (!refusedRoutes.has(route)) {
          refusedRoutes.add(route)
          logger.warn({ route }, 'cacheResponse: authenticated request without a user key is not cached')
        }
        res.setHeader('X-Cache', 'BYPASS')
        return next()
      }
      key += `#user=${user}`
      scope = 'private'
    }
    const cacheControl = `${scope}, max-age=${maxAge}`

    cache.get<CachedResponse>(key).then(
      (hit) => {
        if (hit !== undefined && hit.v === 2) return replay(req, res, hit, cacheControl)
        capture(req, res, key, cacheControl, scope)
        next()
      },
      // The cache failing is no reason to fail the request.
      () => {
        res.setHeader('X-Cache', 'BYPASS')
        next()
      },
    )
  }

  function replay(req: Request, res: Response, hit: CachedResponse, cacheControl: string): void {
    // Headers earlier middleware set for this request (its rate-limit state, say) win over stored ones.
    for (const [name, value] of Object.entries(hit.headers))
      if (!res.hasHeader(name)) res.setHeader(name, value)
    res.setHeader('ETag', hit.etag)
    res.setHeader('Cache-Control', cacheControl)
    res.setHeader('X-Cache', 'HIT')
    if (hit.encoded !== undefined) addVary(res, 'Accept-Encoding')
    if (etagMatches(req.headers['if-none-match'], hit.etag)) {
      res.status(304).end()
      return
    }
    // The stored encoding goes only to a client that accepts it; any other gets the identity
    // body, which a compression middleware in front of this one may still encode for it.
    let body: Buffer
    if (hit.encoded !== undefined && acceptsEncoding(req.headers['accept-encoding'], hit.encoded.encoding)) {
      body = Buffer.from(hit.encoded.body, 'base64')
      res.setHeader('Content-Encoding', hit.encoded.encoding)
    } else body = Buffer.from(hit.body, 'base64')
    res.setHeader('Content-Length', body.length)
    res.status(hit.status)
    if (req.method === 'HEAD') res.end()
    else res.end(body)
  }

  function capture(req: Request, res: Response, key: string, cacheControl: string, scope: string): void {
    res.setHeader('X-Cache', 'MISS')
    const chunks: Buffer[] = []
    const write = res.write.bind(res) as (...args: unknown[]) => boolean
    const end = res.end.bind(res) as (...args: unknown[]) => Response
    // The encoding of the bytes this wrapper sees: a compression middleware behind this one
    // has set Content-Encoding before its first encoded chunk reaches here; one in front
    // sets it only after, on the plain bytes passing through.
    let wireEncoding: string | undefined
    const collect = (chunk: unknown, encoding: unknown) => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function') return
      wireEncoding ??= String(res.getHeader('Content-Encoding') ?? 'identity').toLowerCase()
      chunks.push(
        Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(
              chunk as string,
              typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8',
            ),
      )
    }
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      collect(chunk, rest[0])
      return write(chunk, ...rest)
    }) as Response['write']
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      collect(chunk, rest[0])
      const body = Buffer.concat(chunks)
      const encoding = wireEncoding ?? 'identity'
      const identity = encoding === 'identity' ? body : decode(body, encoding)
      const cacheable = identity !== undefined && storable(res, scope) && req.method === 'GET'
      if (cacheable && !res.headersSent) {
        if (!res.getHeader('Cache-Control')) res.setHeader('Cache-Control', cacheControl)
        if (!res.getHeader('ETag')) res.setHeader('ETag', strongEtag(body))
      }
      const result = end(chunk, ...rest)
      if (cacheable) {
        const entry: CachedResponse = {
          v: 2,
          status: res.statusCode,
          headers: replayableHeaders(res),
          body: identity.toString('base64'),
          etag: String(res.getHeader('ETag') ?? strongEtag(identity)),
          ...(encoding === 'identity' ? {} : { encoded: { encoding, body: body.toString('base64') } }),
        }
        cache
          .set(key, entry, { ttl, tags: options.tags?.(req) })
          .catch((error: unknown) => logger.debug({ err: error, key }, 'cacheResponse: store failed'))
      }
      return result
    }) as Response['end']
  }

  function storable(res: Response, scope: string): boolean {
    if (!statuses.has(res.statusCode)) return false
    if (res.getHeader('Set-Cookie') !== undefined) return false
    const control = String(res.getHeader('Cache-Control') ?? '').toLowerCase()
    if (control.includes('no-store')) return false
    if (control.includes('private') && scope !== 'private') return false
    return true
  }
}

/** The identity body of `body` in `encoding`, or undefined when it cannot be decoded (then nothing is stored). */
function decode(body: Buffer, encoding: string): Buffer | undefined {
  const decoder = DECODERS[encoding]
  if (decoder === undefined) return undefined
  try {
    return decoder(body)
  } catch {
    return undefined
  }
}

/** Whether an `Accept-Encoding` header accepts `encoding` (RFC 9110 12.5.3: `*`, and q=0 refuses). */
function acceptsEncoding(header: string | undefined, encoding: string): boolean {
  if (!header) return false
  let wildcard = false
  for (const part of header.split(',')) {
    const [token = '', ...params] = part.trim().toLowerCase().split(';')
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    const accepted = q === undefined || Number(q.slice(2)) > 0
    const name = token.trim()
    if (name === encoding || (encoding === 'gzip' && name === 'x-gzip')) return accepted
    if (name === '*') wildcard = accepted
  }
  return wildcard
}

function addVary(res: Response, field: string): void {
  const current = String(res.getHeader('Vary') ?? '')
  if (current === '*') return
  const fields = current.split(',').map((f) => f.trim().toLowerCase())
  if (!fields.includes(field.toLowerCase())) res.setHeader('Vary', current ? `${current}, ${field}` : field)
}

function replayableHeaders(res: Response): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(res.getHeaders())) {
    if (value === undefined || isRequestScoped(name)) continue
    headers[name] = Array.isArray(value) ? value.join(', ') : String(value)
  }
  return headers
}

function strongEtag(body: Buffer): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`
}

/** `If-None-Match` is a list; `*` matches anything; weak and strong forms compare equal (RFC 9110 weak comparison). */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false
  if (header.trim() === '*') return true
  const bare = etag.replace(/^W\//, '')
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === bare)
}
