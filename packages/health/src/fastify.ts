import { performance } from 'node:perf_hooks'
import { parseOptions, tiedTo } from '@headroom/core'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { z } from 'zod'
import type { HealthJsonInfo } from './http/health-json.js'
import { markShed } from './http/marks.js'
import { fn, probedMonitor, probeRoutesShape, recorderOption, timingSchema } from './http/options.js'
import { type ProbeAnswer, type ProbePaths, probeRoutes } from './http/probe-answers.js'
import {
  createTimingRecord,
  type RequestTiming,
  type RequestTimingOptions,
  reportIfSlow,
  resolveTiming,
} from './http/request-timing.js'
import {
  closedOutcome,
  markDependencyFailure as markResponse,
  requestTiming as requestTimingOf,
  timeResponse,
} from './http/track-requests.js'
import type { HealthMonitor } from './monitor/types.js'
import {
  createShedGate,
  PROBLEM_JSON,
  type ShedLoadCommonOptions,
  type ShedLoadStats,
} from './shedding/shed-gate.js'

export type { RequestTiming, RequestTimingOptions, SlowRequestReport } from './http/request-timing.js'

export type { ShedLoadStats } from './shedding/shed-gate.js'

/** Options of the Fastify {@link healthRoutes} plugin. */
export interface HealthRoutesPluginOptions extends HealthJsonInfo, ProbePaths {
  monitor: HealthMonitor
}

/** Options of the Fastify {@link shedLoad} plugin and of {@link shedLoadHook}. */
export type ShedLoadPluginOptions = ShedLoadCommonOptions<FastifyRequest>

/** Route config key that marks the probe routes. */
const PROBE = 'headroomProbe'

/**
 * A plugin's own options: Fastify hands a plugin the options of `register()` too
 * (`prefix`, `logLevel`, `logSerializers`), which are its, not ours to refuse.
 */
function ownOptions<T extends object>(options: T): T {
  const {
    prefix: _prefix,
    logLevel: _logLevel,
    logSerializers: _logSerializers,
    ...own
  } = options as T & {
    prefix?: unknown
    logLevel?: unknown
    logSerializers?: unknown
  }
  return own as T
}

const isProbe = (request: FastifyRequest) =>
  (request.routeOptions.config as { [PROBE]?: boolean } | undefined)?.[PROBE] === true

const send = (reply: FastifyReply, answer: ProbeAnswer) =>
  reply
    .code(answer.status)
    .header('cache-control', 'no-store')
    .type(`${answer.contentType}; charset=utf-8`)
    .send(JSON.stringify(answer.body))

const probesPlugin: FastifyPluginAsync<HealthRoutesPluginOptions> = async (fastify, options) => {
  const { monitor, ...rest } = parseOptions('healthRoutes', probesSchema, ownOptions(options))
  // GET routes answer HEAD too (Fastify's exposeHeadRoutes), without a body. The config
  // flag keeps the probes out of shedding: a hook registered in the same context runs
  // on every route of it, and an overloaded instance must still answer its probes.
  for (const [path, answer] of probeRoutes(monitor, rest))
    fastify.get(path, { config: { [PROBE]: true } }, async (_request, reply) => send(reply, answer()))
}

/**
 * Fastify plugin: `GET`/`HEAD` `/livez`, `/readyz` and `/health` (`application/health+json`),
 * the same answers as `@headroom/health/http`. Paths are options; the routes follow the
 * prefix of the context the plugin is registered in.
 *
 * @example
 * await app.register(healthRoutes, { monitor, version: '1.4.0' })
 */
export const healthRoutes = fp(probesPlugin, { fastify: '5.x', name: '@headroom/health/probes' })

/** An `onRequest` hook that sheds by priority, with its counters; for one route or a context. */
export interface ShedLoadHook extends onRequestAsyncHookHandler {
  stats(): ShedLoadStats
}

/**
 * The shedding `onRequest` hook: refuses low-priority requests first while the service is
 * degraded or critical, with 503, `Retry-After` and problem+json; critical requests always pass.
 */
export function shedLoadHook(options: ShedLoadPluginOptions): ShedLoadHook {
  const gate = createShedGate(options)
  const hook: onRequestAsyncHookHandler = async function headroomShedLoad(request, reply) {
    if (isProbe(request)) return
    const refusal = gate.refuse(request, request.url)
    if (refusal === undefined) return // trackRequests leaves refusals out: counting them would feed the overload that caused them.
    markShed(reply.raw)
    return reply
      .code(refusal.status)
      .header('retry-after', refusal.retryAfter)
      .header('cache-control', 'no-store')
      .type(PROBLEM_JSON)
      .send(refusal.body)
  }
  return Object.assign(hook, { stats: gate.stats })
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Counters of the `shedLoad` plugin registered in this context. */
    shedLoadStats: (() => ShedLoadStats) | undefined
  }
}

const shedPlugin: FastifyPluginAsync<ShedLoadPluginOptions> = async (fastify, options) => {
  const hook = shedLoadHook(ownOptions(options))
  fastify.addHook('onRequest', hook)
  fastify.decorate('shedLoadStats', hook.stats)
}

/**
 * Fastify plugin: load shedding as an `onRequest` hook on every route of the context it is
 * registered in (wrapped in `fastify-plugin`), before body parsing. Decorates the instance
 * with `shedLoadStats()`.
 *
 * @example
 * await app.register(shedLoad, { monitor, priority: (request) => (request.url.startsWith('/auth') ? 'critical' : 'low') })
 */
export const shedLoad = fp(shedPlugin, { fastify: '5.x', name: '@headroom/health/shed-load' })

/** Options of the Fastify {@link trackRequests} plugin and of {@link trackRequestsHook}. */
export interface TrackRequestsPluginOptions {
  monitor: HealthMonitor
  /**
   * Whether a finished reply counts as a success; a reply marked with
   * `markDependencyFailure` is recorded as a dependency failure whatever this says.
   * @default (reply) => reply.statusCode < 500
   */
  ok?: (reply: FastifyReply) => boolean
  /** Labels for the `request` series (e.g. the route); keep the set of values small. @default none */
  labels?: (request: FastifyRequest, reply: FastifyReply) => Readonly<Record<string, string>> | undefined
  /**
   * Per-request timing: a `Server-Timing` header with the total and the phases the app
   * marks (`requestTiming(reply)?.mark('db')`), and a report of the requests over
   * `slowMs` (route: the route pattern). Off, the hook does what it does without it.
   * @default off
   */
  timing?: RequestTimingOptions
}

const trackSchema = tiedTo<TrackRequestsPluginOptions>()(
  z.strictObject({
    monitor: recorderOption,
    ok: fn<(reply: FastifyReply) => boolean>().default(() => (reply: FastifyReply) => reply.statusCode < 500),
    labels: fn<TrackRequestsPluginOptions['labels']>().optional(),
    timing: timingSchema.optional(),
  }),
)

const probesSchema = tiedTo<HealthRoutesPluginOptions>()(
  z.strictObject({ monitor: probedMonitor, ...probeRoutesShape }),
)

/**
 * The timing handle of a reply tracked with `timing` (undefined otherwise).
 *
 * @example
 * const rows = await db.query(sql)
 * requestTiming(reply)?.mark('db')
 */
export function requestTiming(reply: FastifyReply): RequestTiming | undefined {
  return requestTimingOf(reply.raw)
}

/**
 * Marks a reply as refused because a dependency is unavailable (its shard, Redis, an
 * external API), before or after sending it: `trackRequests` records it as a `dependency`
 * outcome, which the error rate and latency leave out.
 *
 * @example
 * markDependencyFailure(reply)
 * return reply.code(503).header('retry-after', '5').send({ title: 'Service Unavailable' })
 */
export function markDependencyFailure(reply: FastifyReply): void {
  markResponse(reply.raw)
}

/**
 * The request-tracking `onRequest` hook: records each request's duration and outcome in
 * the monitor when the response closes (a client that went away first is a failure);
 * replies refused by `shedLoad` are not recorded, marked ones are `dependency` outcomes.
 */
export function trackRequestsHook(options: TrackRequestsPluginOptions): onRequestAsyncHookHandler {
  const { monitor, labels, ok, timing: timingOptions } = parseOptions('trackRequests', trackSchema, options)
  const timing = resolveTiming(timingOptions)
  // The raw response is what closes; the reply is what the callbacks are written against.
  return async function headroomTrackRequests(request, reply) {
    // The probes are the orchestrator's traffic, not the service's: left out, as they are
    // by the node:http and fetch adapters mounted after the probe routes.
    if (isProbe(request)) return
    const record = timing === undefined ? undefined : createTimingRecord()
    const started = record?.started ?? performance.now()
    if (record !== undefined) timeResponse(reply.raw, record, timing!.serverTiming)
    reply.raw.once('close', () => {
      const totalMs = performance.now() - started
      const outcome = closedOutcome(reply.raw, () => ok(reply))
      if (outcome !== undefined) monitor.recordRequest(totalMs, outcome, labels?.(request, reply))
      if (record !== undefined) {
        const route = request.routeOptions.url ?? request.url.split('?')[0] ?? '/'
        reportIfSlow(
          timing!,
          record,
          { method: request.method, route, status: reply.raw.statusCode },
          totalMs,
        )
      }
    })
  }
}

const trackPlugin: FastifyPluginAsync<TrackRequestsPluginOptions> = async (fastify, options) => {
  fastify.addHook('onRequest', trackRequestsHook(ownOptions(options)))
}

/**
 * Fastify plugin: request tracking as an `onRequest` hook on every route of the context
 * it is registered in (wrapped in `fastify-plugin`), the probe routes of `healthRoutes`
 * left out. Register it before `shedLoad`; the same contract as `trackRequests` of
 * `@headroom/health/http`.
 *
 * @example
 * await app.register(trackRequests, { monitor, labels: (request) => ({ route: request.routeOptions.url ?? '' }) })
 * await app.register(shedLoad, { monitor, priority })
 */
export const trackRequests = fp(trackPlugin, { fastify: '5.x', name: '@headroom/health/track-requests' })
