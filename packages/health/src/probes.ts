import type { IncomingMessage, ServerResponse } from 'node:http'
import { type HealthJsonInfo, healthJson } from './health-json.js'
import { type Handler, type Next, sendJson } from './http-types.js'
import type { HealthMonitor } from './monitor-types.js'

const isHead = (req: IncomingMessage) => req.method === 'HEAD'

/**
 * Liveness (`/livez`): 200 while the process can answer at all. It deliberately
 * ignores load and dependencies: restarting a busy or cut-off process only makes
 * an overload worse.
 *
 * @example
 * app.get('/livez', livez(monitor))
 */
export function livez(_monitor: HealthMonitor): Handler {
  return (req, res) => sendJson(res, 200, 'application/json', { status: 'pass' }, isHead(req))
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
  return (req, res) => {
    if (monitor.ready) return sendJson(res, 200, 'application/json', { status: 'pass' }, isHead(req))
    const failing = monitor
      .checks()
      .filter((check) => check.critical && check.status !== 'pass')
      .map(
        (check) => `${check.name}: ${check.status === 'pending' ? 'not run yet' : (check.error ?? 'failed')}`,
      )
    if (monitor.draining) failing.unshift('draining')
    sendJson(res, 503, 'application/json', { status: 'fail', output: failing.join('; ') }, isHead(req))
  }
}

/**
 * The full report (`/health`) in `application/health+json`: 200 for pass/warn,
 * 503 for fail.
 *
 * @example
 * app.get('/health', health(monitor, { version: '1.4.0' }))
 */
export function health(monitor: HealthMonitor, info: HealthJsonInfo = {}): Handler {
  return (req, res) => {
    const document = healthJson(monitor, info)
    sendJson(res, document.status === 'fail' ? 503 : 200, 'application/health+json', document, isHead(req))
  }
}

/** Paths of {@link healthRoutes}. */
export interface HealthRoutesOptions extends HealthJsonInfo {
  /** @default '/livez' */
  livez?: string
  /** @default '/readyz' */
  readyz?: string
  /** @default '/health' */
  health?: string
}

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
  const routes = new Map<string, Handler>([
    [options.livez ?? '/livez', livez(monitor)],
    [options.readyz ?? '/readyz', readyz(monitor)],
    [options.health ?? '/health', health(monitor, options)],
  ])
  return (req: IncomingMessage, res: ServerResponse, next?: Next) => {
    const url = req.url ?? '/'
    const query = url.indexOf('?')
    const route = routes.get(query === -1 ? url : url.slice(0, query))
    if (route && (req.method === 'GET' || req.method === 'HEAD')) return route(req, res)
    if (next) return next()
    sendJson(res, 404, 'application/json', { status: 404, title: 'Not Found' })
  }
}
