import { type FetchMiddleware, toFetchMiddleware } from '@headroom/core'
import type { HealthJsonInfo } from './health-json.js'
import type { HealthMonitor } from './monitor-types.js'
import { type ProbeAnswer, type ProbePaths, probeRoutes } from './probe-answers.js'
import { createShedGate, PROBLEM_JSON, type ShedLoadCommonOptions, type ShedLoadStats } from './shed-gate.js'

export type { FetchMiddleware, FetchNext, HonoLikeContext } from '@headroom/core'
export type { ShedLoadStats } from './shed-gate.js'

/** Options of the fetch {@link healthRoutes}. */
export interface FetchHealthRoutesOptions extends HealthJsonInfo, ProbePaths {}

/** Options of the fetch {@link shedLoad}. */
export type FetchShedLoadOptions = ShedLoadCommonOptions<Request>

const toResponse = (answer: ProbeAnswer, head: boolean) =>
  new Response(head ? null : JSON.stringify(answer.body), {
    status: answer.status,
    headers: { 'content-type': `${answer.contentType}; charset=utf-8`, 'cache-control': 'no-store' },
  })

/**
 * `GET`/`HEAD` `/livez`, `/readyz` and `/health` (`application/health+json`) for
 * fetch-standard servers, the same answers as `@headroom/health/http`; other requests go to
 * `next`. Hono middleware and a plain `(request, next) => Promise<Response>` wrapper.
 *
 * @example
 * app.use(healthRoutes(monitor, { version: '1.4.0' }))
 */
export function healthRoutes(
  monitor: HealthMonitor,
  options: FetchHealthRoutesOptions = {},
): FetchMiddleware {
  if (!monitor || typeof monitor.checks !== 'function')
    throw new TypeError(
      'Invalid healthRoutes argument "monitor": expected a monitor from createHealthMonitor()',
    )
  const routes = probeRoutes(monitor, options)
  return toFetchMiddleware(async (request, next) => {
    const answer = routes.get(new URL(request.url).pathname)
    if (answer === undefined || (request.method !== 'GET' && request.method !== 'HEAD')) return next()
    return toResponse(answer(), request.method === 'HEAD')
  })
}

/** The shedding middleware with its counters. */
export type FetchShedLoad = FetchMiddleware & { stats(): ShedLoadStats }

/**
 * Load shedding for fetch-standard servers: refuses low-priority requests first while the
 * service is degraded or critical, with 503, `Retry-After` and problem+json; critical
 * requests always pass. Hono middleware and a plain wrapper.
 *
 * @example
 * app.use(shedLoad({ monitor, priority: (request) => (new URL(request.url).pathname.startsWith('/auth') ? 'critical' : 'low') }))
 */
export function shedLoad(options: FetchShedLoadOptions): FetchShedLoad {
  const gate = createShedGate(options)
  const middleware = toFetchMiddleware(async (request, next) => {
    const refusal = gate.refuse(request, request.url)
    if (refusal === undefined) return next()
    return new Response(refusal.body, {
      status: refusal.status,
      headers: {
        'retry-after': refusal.retryAfter,
        'content-type': PROBLEM_JSON,
        'cache-control': 'no-store',
      },
    })
  })
  return Object.assign(middleware, { stats: gate.stats })
}
