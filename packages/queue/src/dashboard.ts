// @headroom/queue/dashboard: a read-only page of a few queues (counts per state and
// priority, recent failures) with retry buttons, as a plain node:http handler or an
// Express middleware. Every request passes the caller's `authorize`; a retry is a POST
// that a cross-site page cannot forge.
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { parseOptions } from '@headroom/core'
import { type QueueView, renderPage } from './dashboard/dashboard-page.js'
import { type DashboardOptions, dashboardOptionsSchema } from './dashboard/options.js'

export type { DashboardOptions } from './dashboard/options.js'

/** A plain node:http handler: `http.createServer(dashboard)` or called from your own router. */
export type DashboardHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>

/** An Express (or Connect) middleware: `app.use('/admin/queues', dashboardRouter({ ... }))`. */
export type DashboardMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void

type Route =
  | { kind: 'page' }
  | { kind: 'state' }
  | { kind: 'retry-all'; queue: string }
  | { kind: 'retry-one'; queue: string; id: string }

/** The route of a path relative to the dashboard's root, or undefined. */
function routeOf(path: string): Route | undefined {
  if (path === '' || path === '/') return { kind: 'page' }
  if (path === '/api/state') return { kind: 'state' }
  const parts = path.split('/')
  // ['', 'api', 'queues', name, 'retry'] or ['', 'api', 'queues', name, 'jobs', id, 'retry']
  if (parts[1] !== 'api' || parts[2] !== 'queues' || parts.at(-1) !== 'retry') return undefined
  try {
    if (parts.length === 5) return { kind: 'retry-all', queue: decodeURIComponent(parts[3]!) }
    if (parts.length === 7 && parts[4] === 'jobs')
      return { kind: 'retry-one', queue: decodeURIComponent(parts[3]!), id: decodeURIComponent(parts[5]!) }
  } catch {
    return undefined
  }
  return undefined
}

/** A response body and its content type. */
interface Content {
  type: string
  body: string
}

const text = (body: string): Content => ({ type: 'text/plain; charset=utf-8', body })
const json = (value: unknown): Content => ({ type: 'application/json', body: JSON.stringify(value) })

function send(res: ServerResponse, status: number, content: Content, headers: Record<string, string> = {}) {
  const { type, body } = content
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    ...headers,
  })
  res.end(body)
}

/** Why a POST is refused as possibly cross-site, or undefined when it is not. */
function crossSiteReason(req: IncomingMessage): string | undefined {
  if (!req.headers['x-headroom-dashboard'])
    return 'a retry needs the x-headroom-dashboard header (sent by the page)'
  const site = req.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin') return `a retry must come from the dashboard's own origin`
  const origin = req.headers.origin
  if (origin !== undefined) {
    let host: string | undefined
    try {
      host = new URL(origin).host
    } catch {
      host = undefined
    }
    if (host !== req.headers.host)
      return `a retry must come from the dashboard's own origin (Origin ${origin})`
  }
  return undefined
}

function createCore(input: DashboardOptions) {
  const options = parseOptions('dashboard', dashboardOptionsSchema, input)
  const queues = new Map(options.queues.map((queue) => [queue.name, queue]))

  const views = () =>
    Promise.all(
      options.queues.map(
        async (queue): Promise<QueueView> => ({
          name: queue.name,
          counts: await queue.getJobCounts(),
          failures: await queue.getJobs('failed', { end: options.failures - 1 }),
        }),
      ),
    )

  /** Answers a request whose path (relative to the root) is a dashboard route. */
  const answer = async (req: IncomingMessage, res: ServerResponse, route: Route) => {
    let allowed: boolean
    try {
      allowed = (await options.authorize(req)) === true
    } catch {
      return send(res, 500, text('The dashboard could not check authorization'))
    }
    if (!allowed) return send(res, 403, text('Forbidden'))
    const method = req.method ?? 'GET'
    if (route.kind === 'page' || route.kind === 'state') {
      if (method !== 'GET' && method !== 'HEAD')
        return send(res, 405, text('Method not allowed'), { allow: 'GET, HEAD' })
      const data = await views()
      if (route.kind === 'state') return send(res, 200, json({ queues: data }))
      const nonce = randomBytes(16).toString('base64')
      return send(
        res,
        200,
        { type: 'text/html; charset=utf-8', body: renderPage(options.title, data, nonce) },
        {
          'content-security-policy': `default-src 'none'; img-src data:; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
        },
      )
    }
    if (method !== 'POST') return send(res, 405, text('Method not allowed'), { allow: 'POST' })
    const refused = crossSiteReason(req)
    if (refused) return send(res, 403, text(`Forbidden: ${refused}`))
    const queue = queues.get(route.queue)
    if (!queue) return send(res, 404, text(`No queue named ${route.queue} on this dashboard`))
    if (route.kind === 'retry-all') {
      const retried = await queue.retryJobs({ state: 'failed' })
      return send(res, 200, json({ retried }))
    }
    const retried = await queue.retryJob(route.id)
    if (!retried) return send(res, 404, text(`No failed job ${route.id} in ${route.queue}`))
    return send(res, 200, json({ retried: 1 }))
  }

  const fail = (res: ServerResponse) => {
    if (!res.headersSent) send(res, 500, text('The dashboard could not read the queues'))
    else res.end()
  }

  return { options, answer, fail }
}

const pathOf = (url: string | undefined) => {
  const path = (url ?? '/').split('?')[0]!
  return path
}

/**
 * Makes the dashboard as a plain node:http handler serving under `basePath`: the page
 * at the root, `api/state` (JSON), and the POST retry routes its buttons call.
 *
 * @example
 * import http from 'node:http'
 * import { createDashboard } from '@headroom/queue/dashboard'
 *
 * const dashboard = createDashboard({ queues: [emails, reports], authorize: (req) => isAdmin(req) })
 * http.createServer(dashboard).listen(3001)
 */
export function createDashboard(options: DashboardOptions): DashboardHandler {
  const core = createCore(options)
  const base = core.options.basePath.replace(/\/+$/, '')
  return async (req, res) => {
    const path = pathOf(req.url)
    const route = path === base || path.startsWith(`${base}/`) ? routeOf(path.slice(base.length)) : undefined
    if (!route) return send(res, 404, text('Not found'))
    await core.answer(req, res, route).catch(() => core.fail(res))
  }
}

/**
 * Makes the dashboard as an Express middleware, served wherever it is mounted; other
 * paths go on to `next()`.
 *
 * @example
 * import express from 'express'
 * import { dashboardRouter } from '@headroom/queue/dashboard'
 *
 * const app = express()
 * app.use('/admin/queues', dashboardRouter({ queues: [emails], authorize: (req) => req.headers['x-admin'] === secret }))
 */
export function dashboardRouter(options: DashboardOptions): DashboardMiddleware {
  const core = createCore(options)
  return (req, res, next) => {
    // Express hands a mounted middleware the path below its mount point in req.url.
    const route = routeOf(pathOf(req.url))
    if (!route) return next()
    core.answer(req, res, route).catch(next)
  }
}
