// A Fastify user of the rate-limit, cache and health plugins.
import { createCache } from '@headroom/cache'
import { cacheResponse, cacheResponseHooks } from '@headroom/cache/fastify'
import { createHealthMonitor } from '@headroom/health'
import { healthRoutes, shedLoad } from '@headroom/health/fastify'
import { createRateLimiter } from '@headroom/rate-limit'
import { rateLimit } from '@headroom/rate-limit/fastify'
import Fastify, { type FastifyInstance } from 'fastify'

export async function app(): Promise<FastifyInstance> {
  const cache = createCache({ prefix: 'consumer', ttl: 60_000 })
  const monitor = createHealthMonitor()
  const server = Fastify({ trustProxy: true })
  await server.register(healthRoutes, { monitor })
  await server.register(shedLoad, {
    monitor,
    priority: (request) => (request.url.startsWith('/auth') ? 'critical' : 'low'),
  })
  await server.register(rateLimit, {
    limiter: createRateLimiter({ prefix: 'consumer', limit: 100, window: '1m' }),
  })
  await server.register(cacheResponse, { cache })
  server.get(
    '/me',
    cacheResponseHooks({ cache, user: (request) => request.headers['x-user-id'] as string | undefined }),
    async (request) => ({
      remaining: request.rateLimit?.decision.remaining,
      shed: server.shedLoadStats?.().passed,
    }),
  )
  return server
}
