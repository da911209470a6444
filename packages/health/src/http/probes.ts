import type { IncomingMessage, ServerResponse } from 'node:http'
import { parseOptions } from '@headroom/core'
import type { HealthMonitor } from '../monitor/types.js'
import type { HealthJsonInfo } from './health-json.js'
import { probeRoutesSchema } from './options.js'
import {
  healthAnswer,
  livezAnswer,
  type ProbeAnswer,
  type ProbePaths,
  probeRoutes,
  readyzAnswer,
} from './probe-answers.js'
import { type Handler, type Next, sendJson } from './types.js'

const send = (req: IncomingMessage, res: ServerResponse, answer: ProbeAnswer) =>
  sendJson(res, answer, req.method === 'HEAD')

/**
 * Liveness (`/livez`): 200 while the process can answer at all. It deliberately
 * ignores load and dependencies: restarting a busy or cut-off process only makes
 * an overload worse.
 *
 * @example
 * app.get('/livez', livez(monitor))
 */
export function livez(_monitor: HealthMonitor): Handler {
  return (req, res) => send(req, res, livezAnswer(_monitor))
}

/**
 * Readiness (`/readyz`): 200 when every critical check passed its last run and the
 * process is not draining, else 503 with the failing checks. Dependency checks that
 * are not critical never fail it: a shared dependency down would drain every
 * instance at once. It reads cached check results, so it answers at once even while
 * a dependency hangs.
 *
 * @example
 * app.get('/readyz', readyz(monitor))
 */
export function readyz(monitor: HealthMonitor): Handler {
  return (req, res) => send(req, res, readyzAnswer(monitor))
}

/**
 * The full report (`/health`) in `application/health+json`: 200 for pass/warn,
 * 503 for fail.
 *
 * @example
 * app.get('/health', health(monitor, { version: '1.4.0' }))
 */
export function health(monitor: HealthMonitor, info: HealthJsonInfo = {}): Handler {
  return (req, res) => send(req, res, healthAnswer(monitor, info))
}

/** Paths of {@link healthRoutes}. */
export interface HealthRoutesOptions extends HealthJsonInfo, ProbePaths {}

/**
 * The three probes as one handler for a plain `node:http` server or `app.use()`:
 * it answers GET/HEAD on the probe paths and passes anything else to `next` (or
 * answers 404 when there is none).
 *
 * @example
 * const probes = healthRoutes(monitor)
 * http.createServer((req, res) => probes(req, res, () => app(req, res)))
 */
export function healthRoutes(monitor: HealthMonitor, options: HealthRoutesOptions = {}): Handler {
  const routes = probeRoutes(monitor, parseOptions('healthRoutes', probeRoutesSchema, options))
  return (req: IncomingMessage, res: ServerResponse, next?: Next) => {
    const url = req.url ?? '/'
    const query = url.indexOf('?')
    const route = routes.get(query === -1 ? url : url.slice(0, query))
    if (route && (req.method === 'GET' || req.method === 'HEAD')) return send(req, res, route())
    if (next) return next()
    sendJson(res, { status: 404, contentType: 'application/json', body: { status: 404, title: 'Not Found' } })
  }
}
