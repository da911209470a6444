// A fetch-standard (Hono, Bun, Deno) user of the adapters: no framework types are needed to compile.
import { createCache } from '@headroom/cache'
import { cacheResponse } from '@headroom/cache/fetch'
import { createHealthMonitor } from '@headroom/health'
import { healthRoutes, shedLoad } from '@headroom/health/fetch'
import { createRateLimiter } from '@headroom/rate-limit'
import { rateLimit } from '@headroom/rate-limit/fetch'

export function handler(): (request: Request) => Promise<Response> {
  const monitor = createHealthMonitor()
  const probes = healthRoutes(monitor)
  const shed = shedLoad({
    monitor,
    priority: (request) => (request.headers.has('x-premium') ? 'high' : 'low'),
  })
  const limit = rateLimit({
    limiter: createRateLimiter({ prefix: 'consumer', limit: 100, window: '1m' }),
    key: (request) => request.headers.get('x-user-id') ?? 'anonymous',
  })
  const cached = cacheResponse({ cache: createCache({ prefix: 'consumer', ttl: 60_000 }) })
  return (request) =>
    probes(request, () =>
      shed(request, () => limit(request, () => cached(request, async () => Response.json({ ok: true })))),
    )
}
