import { createHash } from 'node:crypto'
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib'
import { childLogger, type Logger, type OptionsSchemaMatch, parseOptions } from '@headroom/core'
import { z } from 'zod'
import type { Cache } from '../types.js'

/** The options of `cacheResponse()` every framework adapter shares; `Req` is the framework's request. */
export interface CacheResponseCommonOptions<Req> {
  /** The cache responses are stored in. */
  cache: Cache
  /** Time to live of a cached response, in ms. @default 60000 */
  ttl?: number
  /**
   * The cache key of a request; `undefined` skips caching for it.
   * @default `${method === 'HEAD' ? 'GET' : method}:${path and query}`
   */
  key?: (req: Req) => string | undefined
  /**
   * Who the request is for, when it is authenticated. An authenticated request is cached
   * only when this returns an id, which becomes part of the key: one user's response is
   * never served to another.
   * @default undefined (authenticated requests are never cached)
   */
  user?: (req: Req) => string | undefined
  /**
   * Whether a request is authenticated.
   * @default an `Authorization` or `Cookie` header is present
   */
  isAuthenticated?: (req: Req) => boolean
  /** Tags stored with the response, for `cache.invalidateTags`. @default none */
  tags?: (req: Req) => string[] | undefined
  /** Status codes that are cached. @default [200] */
  statuses?: number[]
  /** Prefix of every key this middleware writes. @default 'http:' */
  keyPrefix?: string
  /** A logger for refusals (said once per route). @default silent */
  logger?: Logger
}

const callback = (what: string) =>
  z.custom<(req: never) => unknown>((v) => typeof v === 'function', {
    message: `Expected a function ${what}`,
  })

/** The one source of `cacheResponse()`'s defaults and rules, for every adapter. */
const responseCacheSchema = z.strictObject({
  cache: z.custom<Cache>(
    (v) => typeof v === 'object' && v !== null && typeof (v as Cache).get === 'function',
    { message: 'Expected a cache from createCache()' },
  ),
  ttl: z.number().finite().positive('Expected a positive number of ms').default(60_000),
  key: callback('(req) => cache key | undefined').optional(),
  user: callback('(req) => user id | undefined').optional(),
  isAuthenticated: callback('(req) => boolean').optional(),
  tags: callback('(req) => tags | undefined').optional(),
  statuses: z.array(z.number().int()).default([200]),
  keyPrefix: z.string().default('http:'),
  logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null).optional(),
})

true satisfies OptionsSchemaMatch<typeof responseCacheSchema, CacheResponseCommonOptions<unknown>>

/** How an adapter reads a request of its framework. */
export interface RequestReader<Req> {
  method(req: Req): string
  /** Path and query, as the client sent them (the default key). */
  url(req: Req): string
  header(req: Req, name: string): string | undefined
  /** The route pattern, to name a refused route once in the log. */
  route(req: Req): string
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
   * The body as the app encoded it (a compression step behind the cache), base64,
   * replayed as is to clients that accept `encoding`; the others get `body`.
   */
  encoded?: { encoding: string; body: string }
}

/** A stored response, ready for an adapter to send. */
export interface Replay {
  status: number
  /** Stored headers: headers this request already has (its rate-limit state, say) win over them. */
  stored: Record<string, string>
  /** Set on top, always. */
  headers: Array<[name: string, value: string]>
  /** Whether `Accept-Encoding` joins `Vary` (the entry has an encoded variant). */
  varyOnEncoding: boolean
  /** Undefined for a 304 and for HEAD. */
  body: Buffer | undefined
}

/** A response the app produced, as the cache needs to see it. */
export interface ProducedResponse {
  status: number
  header(name: string): string | number | readonly string[] | undefined
  headers(): Record<string, string | number | readonly string[] | undefined>
}

/** A miss: the adapter lets the request through and hands the response to `capture`. */
export interface Miss {
  /** Whether the response may be stored at all, before its body is read (status, Set-Cookie, Cache-Control). */
  storable(response: ProducedResponse): boolean
  /**
   * Before the response is sent, with its whole body as it goes on the wire: undefined
   * when it must not be stored (status, Set-Cookie, Cache-Control, an encoding the cache
   * cannot decode), else the headers to add where the app set none (`Cache-Control`,
   * `ETag`) and `store()`, to call once it is sent.
   */
  capture(response: ProducedResponse, wireBody: Buffer, wireEncoding: string): Capture | undefined
}

export interface Capture {
  headers: Array<[name: string, value: string]>
  store(): void
}

export type Lookup =
  | { kind: 'pass' }
  | { kind: 'bypass' }
  | { kind: 'hit'; replay: Replay }
  | { kind: 'miss'; miss: Miss }

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

/** Encodings the cache can turn back into the identity body. */
const DECODERS: Record<string, (body: Buffer) => Buffer> = {
  gzip: (body) => gunzipSync(body),
  'x-gzip': (body) => gunzipSync(body),
  deflate: (body) => inflateSync(body),
  br: (body) => brotliDecompressSync(body),
}

/**
 * The framework-neutral response cache: key and user scoping (an authenticated request
 * is cached only per user, or bypassed), replay with ETag/304 and per-request encoding,
 * and what may be stored. The Express, Fastify and fetch adapters differ only in how
 * they read the request and capture the response.
 */
export function createResponseCache<Req>(
  input: CacheResponseCommonOptions<Req>,
  reader: RequestReader<Req>,
  component: string,
): (req: Req) => Promise<Lookup> {
  // The request callbacks are read from `input`, which types them with the adapter's request.
  const parsed = parseOptions('cacheResponse', responseCacheSchema, input)
  const { cache, ttl, keyPrefix } = parsed
  const statuses = new Set(parsed.statuses)
  const keyOf =
    input.key ??
    ((req: Req) => {
      const method = reader.method(req)
      return `${method === 'HEAD' ? 'GET' : method}:${reader.url(req)}`
    })
  const isAuthenticated =
    input.isAuthenticated ??
    ((req: Req) =>
      reader.header(req, 'authorization') !== undefined || reader.header(req, 'cookie') !== undefined)
  const logger = childLogger(parsed.logger, { component })
  const maxAge = Math.floor(ttl / 1000)
  const refusedRoutes = new Set<string>()

  return async (req) => {
    const method = reader.method(req)
    if (method !== 'GET' && method !== 'HEAD') return { kind: 'pass' }
    const base = keyOf(req)
    if (base === undefined) return { kind: 'pass' }
    let key = keyPrefix + base
    let scope: 'public' | 'private' = 'public'
    if (isAuthenticated(req)) {
      const user = input.user?.(req)
      if (user === undefined || user === '') {
        // Sharing an authenticated response would leak one user's data to another.
        const route = reader.route(req)
        if (!refusedRoutes.has(route)) {
          refusedRoutes.add(route)
          logger.warn({ route }, 'cacheResponse: authenticated request without a user key is not cached')
        }
        return { kind: 'bypass' }
      }
      key += `#user=${user}`
      scope = 'private'
    }
    const cacheControl = `${scope}, max-age=${maxAge}`
    let hit: CachedResponse | undefined
    try {
      hit = await cache.get<CachedResponse>(key)
    } catch {
      // The cache failing is no reason to fail the request.
      return { kind: 'bypass' }
    }
    if (hit !== undefined && hit.v === 2) return { kind: 'hit', replay: replay(req, hit, cacheControl) }
    return { kind: 'miss', miss: miss(req, key, cacheControl, scope) }
  }

  function replay(req: Req, hit: CachedResponse, cacheControl: string): Replay {
    const headers: Array<[string, string]> = [
      ['ETag', hit.etag],
      ['Cache-Control', cacheControl],
      ['X-Cache', 'HIT'],
    ]
    const varyOnEncoding = hit.encoded !== undefined
    if (etagMatches(reader.header(req, 'if-none-match'), hit.etag))
      return { status: 304, stored: hit.headers, headers, varyOnEncoding, body: undefined }
    // The stored encoding goes only to a client that accepts it; any other gets the identity
    // body, which a compression step in front of the cache may still encode for it.
    let body: Buffer
    if (
      hit.encoded !== undefined &&
      acceptsEncoding(reader.header(req, 'accept-encoding'), hit.encoded.encoding)
    ) {
      body = Buffer.from(hit.encoded.body, 'base64')
      headers.push(['Content-Encoding', hit.encoded.encoding])
    } else body = Buffer.from(hit.body, 'base64')
    headers.push(['Content-Length', String(body.length)])
    return {
      status: hit.status,
      stored: hit.headers,
      headers,
      varyOnEncoding,
      body: reader.method(req) === 'HEAD' ? undefined : body,
    }
  }

  function miss(req: Req, key: string, cacheControl: string, scope: string): Miss {
    const storable = (response: ProducedResponse) => {
      if (reader.method(req) !== 'GET' || !statuses.has(response.status)) return false
      if (response.header('set-cookie') !== undefined) return false
      const control = String(response.header('cache-control') ?? '').toLowerCase()
      if (control.includes('no-store')) return false
      if (control.includes('private') && scope !== 'private') return false
      return true
    }
    return {
      storable,
      capture(response, wireBody, wireEncoding) {
        const encoding = wireEncoding.toLowerCase()
        const identity = encoding === 'identity' ? wireBody : decode(wireBody, encoding)
        if (identity === undefined || !storable(response)) return undefined
        const headers: Array<[string, string]> = []
        if (!response.header('cache-control')) headers.push(['Cache-Control', cacheControl])
        if (!response.header('etag')) headers.push(['ETag', strongEtag(wireBody)])
        return {
          headers,
          store() {
            const entry: CachedResponse = {
              v: 2,
              status: response.status,
              headers: replayableHeaders(response.headers()),
              body: identity.toString('base64'),
              etag: String(response.header('etag') ?? strongEtag(identity)),
              ...(encoding === 'identity'
                ? {}
                : { encoded: { encoding, body: wireBody.toString('base64') } }),
            }
            cache
              .set(key, entry, { ttl, tags: input.tags?.(req) })
              .catch((error: unknown) => logger.debug({ err: error, key }, 'cacheResponse: store failed'))
          },
        }
      },
    }
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

/** `current` Vary with `field` added (unless already listed, or `*`). */
export function withVary(current: string | undefined, field: string): string {
  const value = current ?? ''
  if (value === '*') return value
  const fields = value.split(',').map((f) => f.trim().toLowerCase())
  return fields.includes(field.toLowerCase()) ? value : value ? `${value}, ${field}` : field
}

function replayableHeaders(
  all: Record<string, string | number | readonly string[] | undefined>,
): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(all)) {
    if (value === undefined || isRequestScoped(name.toLowerCase())) continue
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value)
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
