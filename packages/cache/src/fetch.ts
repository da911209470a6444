import { type FetchMiddleware, toFetchMiddleware } from '@headroom/core'
import {
  type CacheResponseCommonOptions,
  createResponseCache,
  type ProducedResponse,
  type RequestReader,
  withVary,
} from './http/response-cache.js'

export type { FetchMiddleware, FetchNext, HonoLikeContext } from '@headroom/core'

/** Options of the fetch {@link cacheResponse}. */
export type FetchCacheResponseOptions = CacheResponseCommonOptions<Request>

const reader: RequestReader<Request> = {
  method: (request) => request.method,
  url: (request) => {
    const url = new URL(request.url)
    return url.pathname + url.search
  },
  header: (request, name) => request.headers.get(name) ?? undefined,
  route: (request) => new URL(request.url).pathname,
}

const produced = (response: Response): ProducedResponse => ({
  status: response.status,
  header: (name) => response.headers.get(name) ?? undefined,
  headers: () => Object.fromEntries(response.headers),
})

const withHeader = (response: Response, name: string, value: string) => {
  const copy = new Response(response.body, response)
  copy.headers.set(name, value)
  return copy
}

/**
 * Fetch-standard response cache (`Request` -> `Response`: Hono, Bun, Deno, route handlers)
 * with the Express middleware's options and promises: ETag/304, `Cache-Control`, an
 * authenticated response cached only per user (or not at all), the identity body stored
 * and the encoding chosen per request. Works as Hono middleware and as a plain wrapper.
 *
 * @example
 * import { Hono } from 'hono'
 * import { createCache } from '@headroom/cache'
 * import { cacheResponse } from '@headroom/cache/fetch'
 *
 * const cache = createCache({ prefix: 'web' })
 * const app = new Hono()
 * app.get('/content/:id', cacheResponse({ cache, ttl: 60_000 }), (c) => c.json({ id: c.req.param('id') }))
 */
export function cacheResponse(options: FetchCacheResponseOptions): FetchMiddleware {
  const lookup = createResponseCache(options, reader, 'headroom-cache-fetch')

  return toFetchMiddleware(async (request, next) => {
    const result = await lookup(request)
    if (result.kind === 'pass') return next()
    if (result.kind === 'bypass') return withHeader(await next(), 'X-Cache', 'BYPASS')
    if (result.kind === 'hit') {
      const hit = result.replay
      const headers = new Headers(hit.stored)
      for (const [name, value] of hit.headers) headers.set(name, value)
      if (hit.varyOnEncoding)
        headers.set('Vary', withVary(headers.get('vary') ?? undefined, 'Accept-Encoding'))
      return new Response(hit.body === undefined ? null : new Uint8Array(hit.body), {
        status: hit.status,
        headers,
      })
    }
    const response = await next()
    if (!result.miss.storable(produced(response))) return withHeader(response, 'X-Cache', 'MISS')
    // A storable response is read whole: the cache keeps its body, the client gets the same bytes.
    const body = Buffer.from(await response.arrayBuffer())
    const captured = result.miss.capture(
      produced(response),
      body,
      response.headers.get('content-encoding') ?? 'identity',
    )
    const sent = new Response(
      body.length === 0 && response.body === null ? null : new Uint8Array(body),
      response,
    )
    sent.headers.set('X-Cache', 'MISS')
    for (const [name, value] of captured?.headers ?? []) sent.headers.set(name, value)
    captured?.store()
    return sent
  })
}
