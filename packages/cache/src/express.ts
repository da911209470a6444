import type { NextFunction, Request, RequestHandler, Response } from 'express'
import {
  type CacheResponseCommonOptions,
  createResponseCache,
  type Miss,
  type ProducedResponse,
  type Replay,
  type RequestReader,
  withVary,
} from './http/response-cache.js'

export type { CacheResponseCommonOptions } from './http/response-cache.js'

/** Options of {@link cacheResponse}. */
export type CacheResponseOptions = CacheResponseCommonOptions<Request>

const reader: RequestReader<Request> = {
  method: (req) => req.method,
  url: (req) => req.originalUrl,
  header: (req, name) => {
    const value = req.headers[name]
    return Array.isArray(value) ? value.join(', ') : value
  },
  route: (req) => req.route?.path ?? req.path,
}

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
  const lookup = createResponseCache(options, reader, 'headroom-cache-express')

  return function cacheResponseMiddleware(req: Request, res: Response, next: NextFunction) {
    lookup(req).then((result) => {
      if (result.kind === 'pass') return next()
      if (result.kind === 'bypass') {
        res.setHeader('X-Cache', 'BYPASS')
        return next()
      }
      if (result.kind === 'hit') return replay(res, result.replay)
      res.setHeader('X-Cache', 'MISS')
      capture(res, result.miss)
      next()
    }, next)
  }
}

function replay(res: Response, hit: Replay): void {
  // Headers earlier middleware set for this request (its rate-limit state, say) win over stored ones.
  for (const [name, value] of Object.entries(hit.stored)) if (!res.hasHeader(name)) res.setHeader(name, value)
  for (const [name, value] of hit.headers) res.setHeader(name, value)
  if (hit.varyOnEncoding) res.setHeader('Vary', withVary(headerText(res, 'Vary'), 'Accept-Encoding'))
  res.status(hit.status)
  if (hit.body === undefined) res.end()
  else res.end(hit.body)
}

function capture(res: Response, miss: Miss): void {
  const chunks: Buffer[] = []
  const write = res.write.bind(res) as (...args: unknown[]) => boolean
  const end = res.end.bind(res) as (...args: unknown[]) => Response
  // The encoding of the bytes this wrapper sees: a compression middleware behind this one
  // has set Content-Encoding before its first encoded chunk reaches here; one in front
  // sets it only after, on the plain bytes passing through.
  let wireEncoding: string | undefined
  const collect = (chunk: unknown, encoding: unknown) => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return
    wireEncoding ??= String(res.getHeader('Content-Encoding') ?? 'identity')
    chunks.push(
      Buffer.isBuffer(chunk)
        ? chunk
        : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'),
    )
  }
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    collect(chunk, rest[0])
    return write(chunk, ...rest)
  }) as Response['write']
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    collect(chunk, rest[0])
    const produced: ProducedResponse = {
      get status() {
        return res.statusCode
      },
      header: (name) => res.getHeader(name),
      headers: () => res.getHeaders(),
    }
    const captured = miss.capture(produced, Buffer.concat(chunks), wireEncoding ?? 'identity')
    if (captured !== undefined && !res.headersSent)
      for (const [name, value] of captured.headers) res.setHeader(name, value)
    const result = end(chunk, ...rest)
    captured?.store()
    return result
  }) as Response['end']
}

function headerText(res: Response, name: string): string | undefined {
  const value = res.getHeader(name)
  return value === undefined ? undefined : String(value)
}
