import { performance } from 'node:perf_hooks'
import { type FetchMiddleware, parseOptions, tiedTo, toFetchMiddleware, withHeaders } from '@headroom/core'
import { z } from 'zod'
import type { HealthJsonInfo } from './http/health-json.js'
import { isDependencyFailure, isShed, markDependency, markShed, setTiming, timingOf } from './http/marks.js'
import { fn, probedMonitor, probeRoutesSchema, recorderOption, timingSchema } from './http/options.js'
import { type ProbeAnswer, type ProbePaths, probeRoutes } from './http/probe-answers.js'
import {
  createTimingRecord,
  type RequestTiming,
  type RequestTimingOptions,
  reportIfSlow,
  resolveTiming,
} from './http/request-timing.js'
import type { HealthMonitor } from './monitor/types.js'
import {
  createShedGate,
  PROBLEM_JSON,
  type ShedLoadCommonOptions,
  type ShedLoadStats,
} from './shedding/shed-gate.js'

export type { FetchMiddleware, FetchNext, HonoLikeContext } from '@headroom/core'
export type { RequestTiming, RequestTimingOptions, SlowRequestReport } from './http/request-timing.js'
export type { ShedLoadStats } from './shedding/shed-gate.js'

// Marks go on the Request: it is the one object every middleware of the chain shares
// (under Hono a returned Response may be copied into another when headers are merged).

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
  if (!probedMonitor.safeParse(monitor).success)
    throw new TypeError(
      'Invalid healthRoutes argument "monitor": expected a monitor from createHealthMonitor()',
    )
  const routes = probeRoutes(monitor, parseOptions('healthRoutes', probeRoutesSchema, options))
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
    // trackRequests leaves refusals out: counting them would feed the overload that caused them.
    markShed(request)
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

/** Options of the fetch {@link trackRequests}. */
export interface FetchTrackRequestsOptions {
  monitor: HealthMonitor
  /**
   * Whether a response counts as a success; a request marked with `markDependencyFailure`
   * is recorded as a dependency failure whatever this says.
   * @default (response) => response.status < 500
   */
  ok?: (response: Response) => boolean
  /** Labels for the `request` series (e.g. the route); keep the set of values small. @default none */
  labels?: (request: Request, response: Response | undefined) => Readonly<Record<string, string>> | undefined
  /**
   * Per-request timing: a `Server-Timing` header with the total (to the response's
   * headers) and the phases the app marks (`requestTiming(request)?.mark('db')`), and a
   * report of the requests over `slowMs` (route: the path). Off, the request path is
   * the plain one.
   * @default off
   */
  timing?: RequestTimingOptions
}

const trackSchema = tiedTo<FetchTrackRequestsOptions>()(
  z.strictObject({
    monitor: recorderOption,
    ok: fn<(response: Response) => boolean>().default(() => (response: Response) => response.status < 500),
    labels: fn<FetchTrackRequestsOptions['labels']>().optional(),
    timing: timingSchema.optional(),
  }),
)

/**
 * The timing handle of a request tracked with `timing` (undefined otherwise); under Hono
 * pass `c.req.raw`.
 *
 * @example
 * const rows = await db.query(sql)
 * requestTiming(c.req.raw)?.mark('db')
 */
export function requestTiming(request: Request): RequestTiming | undefined {
  return timingOf(request)
}

/**
 * Marks a request as refused because a dependency is unavailable (its shard, Redis, an
 * external API): `trackRequests` records it as a `dependency` outcome, which the error
 * rate and latency leave out. Under Hono, pass `c.req.raw`.
 *
 * @example
 * markDependencyFailure(c.req.raw)
 * return c.json({ title: 'Service Unavailable' }, 503, { 'retry-after': '5' })
 */
export function markDependencyFailure(request: Request): void {
  markDependency(request)
}

/**
 * Records each request's duration (to the response's headers: the body streams after the
 * chain returns) and outcome in the monitor. A handler that throws is a failure, and so is
 * a client that goes away before the response (the request's `signal` aborts); refusals of
 * `shedLoad` are not recorded, marked requests are `dependency` outcomes. Hono middleware
 * and a plain wrapper; put it before `shedLoad`.
 *
 * @example
 * app.use(trackRequests({ monitor }))
 * app.use(shedLoad({ monitor, priority }))
 */
export function trackRequests(options: FetchTrackRequestsOptions): FetchMiddleware {
  const {
    monitor,
    labels,
    ok: isOk,
    timing: timingOptions,
  } = parseOptions('trackRequests', trackSchema, options)
  const timing = resolveTiming(timingOptions)
  return toFetchMiddleware(async (request, next) => {
    const timed = timing === undefined ? undefined : createTimingRecord()
    if (timed !== undefined) setTiming(request, timed)
    const started = timed?.started ?? performance.now()
    let recorded = false
    const record = (response: Response | undefined) => {
      if (recorded) return
      recorded = true
      if (isShed(request)) return
      const outcome = isDependencyFailure(request)
        ? 'dependency'
        : response !== undefined && !request.signal.aborted && isOk(response)
      const totalMs = performance.now() - started
      monitor.recordRequest(totalMs, outcome, labels?.(request, response))
      if (timed !== undefined) {
        const route = new URL(request.url).pathname
        reportIfSlow(
          timing!,
          timed,
          { method: request.method, route, status: response?.status ?? 0 },
          totalMs,
        )
      }
    }
    const gone = () => record(undefined)
    request.signal.addEventListener('abort', gone, { once: true })
    try {
      const response = await next()
      record(response)
      if (timed !== undefined && timing!.serverTiming)
        return withHeaders(response, [['Server-Timing', timed.header()]])
      return response
    } catch (error) {
      record(undefined)
      throw error
    } finally {
      request.signal.removeEventListener('abort', gone)
    }
  })
}
