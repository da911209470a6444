import type {
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  onRequestAsyncHookHandler,
  onSendAsyncHookHandler,
} from 'fastify'
import fp from 'fastify-plugin'
import {
  type CacheResponseCommonOptions,
  createResponseCache,
  type Miss,
  type ProducedResponse,
  type RequestReader,
  withVary,
} from './http/response-cache.js'

/** Options of the Fastify {@link cacheResponse} plugin and of {@link cacheResponseHooks}. */
export type CacheResponsePluginOptions = CacheResponseCommonOptions<FastifyRequest>

const reader: RequestReader<FastifyRequest> = {
  method: (request) => request.method,
  url: (request) => request.url,
  header: (request, name) => {
    const value = request.headers[name]
    return Array.isArray(value) ? value.join(', ') : value
  },
  route: (request) => request.routeOptions.url ?? request.url,
}

const produced = (reply: FastifyReply): ProducedResponse => ({
  get status() {
    return reply.statusCode
  },
  header: (name) => reply.getHeader(name),
  headers: () => reply.getHeaders(),
})

/**
 * The two hooks of the response cache, for one route:
 * `app.get('/content/:id', { ...cacheResponseHooks({ cache, tags }) }, handler)`.
 * `onRequest` answers hits (ETag/304, per-request encoding); `onSend` stores string and
 * Buffer payloads (a streamed payload is sent, not stored).
 */
export function cacheResponseHooks(options: CacheResponsePluginOptions): {
  onRequest: onRequestAsyncHookHandler
  onSend: onSendAsyncHookHandler<unknown>
} {
  const lookup = createResponseCache(options, reader, 'headroom-cache-fastify')
  const misses = new WeakMap<FastifyRequest, Miss>()
  return {
    async onRequest(request, reply) {
      const result = await lookup(request)
      if (result.kind === 'pass') return
      if (result.kind === 'bypass') {
        reply.header('X-Cache', 'BYPASS')
        return
      }
      if (result.kind === 'miss') {
        reply.header('X-Cache', 'MISS')
        misses.set(request, result.miss)
        return
      }
      const hit = result.replay
      // Headers earlier hooks set for this request (its rate-limit state, say) win over stored ones.
      for (const [name, value] of Object.entries(hit.stored))
        if (!reply.hasHeader(name)) reply.header(name, value)
      for (const [name, value] of hit.headers) reply.header(name, value)
      if (hit.varyOnEncoding) {
        const vary = reply.getHeader('vary')
        reply.header('Vary', withVary(vary === undefined ? undefined : String(vary), 'Accept-Encoding'))
      }
      return reply.code(hit.status).send(hit.body)
    },
    async onSend(request, reply, payload) {
      const miss = misses.get(request)
      if (miss === undefined) return payload
      misses.delete(request)
      const response = produced(reply)
      if (!miss.storable(response)) return payload
      const body =
        typeof payload === 'string' ? Buffer.from(payload) : Buffer.isBuffer(payload) ? payload : undefined
      if (body === undefined) return payload
      const encoding = reply.getHeader('content-encoding')
      const captured = miss.capture(response, body, encoding === undefined ? 'identity' : String(encoding))
      if (captured === undefined) return payload
      for (const [name, value] of captured.headers) reply.header(name, value)
      captured.store()
      return payload
    },
  }
}

const plugin: FastifyPluginAsync<CacheResponsePluginOptions> = async (fastify, options) => {
  const hooks = cacheResponseHooks(options)
  fastify.addHook('onRequest', hooks.onRequest)
  fastify.addHook('onSend', hooks.onSend)
}

/**
 * Fastify plugin: caches the GET/HEAD responses of every route in the context it is
 * registered in (wrapped in `fastify-plugin`; register it inside a `register` scope to
 * cover that scope's routes), with the Express middleware's options and promises: ETag/304,
 * `Cache-Control`, an authenticated response cached only per user, encoding per request.
 *
 * @example
 * import Fastify from 'fastify'
 * import { createCache } from '@headroom/cache'
 * import { cacheResponse } from '@headroom/cache/fastify'
 *
 * const app = Fastify()
 * await app.register(cacheResponse, { cache: createCache({ prefix: 'web' }), ttl: 60_000 })
 */
export const cacheResponse = fp(plugin, { fastify: '5.x', name: '@headroom/cache' })
