import type { FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import type { HealthJsonInfo } from './health-json.js'
import type { HealthMonitor } from './monitor-types.js'
import { type ProbeAnswer, type ProbePaths, probeRoutes } from './probe-answers.js'
import { createShedGate, PROBLEM_JSON, type ShedLoadCommonOptions, type ShedLoadStats } from './shed-gate.js'

export type { ShedLoadStats } from './shed-gate.js'

/** Options of the Fastify {@link healthRoutes} plugin. */
export interface HealthRoutesPluginOptions extends HealthJsonInfo, ProbePaths {
  monitor: HealthMonitor
}

/** Options of the Fastify {@link shedLoad} plugin and of {@link shedLoadHook}. */
export type ShedLoadPluginOptions = ShedLoadCommonOptions<FastifyRequest>

/** Route config key that marks the probe routes. */
const PROBE = 'headroomProbe'

const send = (reply: FastifyReply, answer: ProbeAnswer) =>
  reply
    .code(answer.status)
    .header('cache-control', 'no-store')
    .type(`${answer.contentType}; charset=utf-8`)
    .send(JSON.stringify(answer.body))

const probesPlugin: FastifyPluginAsync<HealthRoutesPluginOptions> = async (fastify, options) => {
  const { monitor, ...rest } = options
  if (!monitor || typeof monitor.checks !== 'function')
    throw new TypeError(
      'Invalid healthRoutes option "monitor": expected a monitor from createHealthMonitor()',
    )
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
    if ((request.routeOptions.config as unknown as Record<string, unknown> | undefined)?.[PROBE] === true)
      return
    const refusal = gate.refuse(request, request.url)
    if (refusal === undefined) return
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
  const hook = shedLoadHook(options)
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
