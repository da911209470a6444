import type { IncomingMessage, ServerResponse } from 'node:http'
import { createChannels } from '@headroom/core'
import { type Handler, type Next, SHED, sendJson } from './http-types.js'
import { createLoadShedder, type Priority, type ShedPolicy, type StatusSource } from './load-shedder.js'
import type { HealthStatus } from './status.js'

/** Options of {@link shedLoad}. */
export interface ShedLoadOptions extends ShedPolicy {
  /** The monitor (or anything with a `status`). */
  monitor: StatusSource
  /** The priority of a request (e.g. by route or subscription tier). @default () => 'low' */
  priority?: (req: IncomingMessage) => Priority
  /** `Retry-After` in seconds on refused requests. @default 5 */
  retryAfterSeconds?: number
}

/** The middleware with its counters. */
export interface ShedLoadHandler extends Handler {
  stats(): { passed: number; shed: Record<Priority, number> }
}

const channels = createChannels<{
  shed: { priority: Priority; status: HealthStatus; url: string | undefined }
}>('health', ['shed'])

/**
 * Refuses low-priority requests first while the service is degraded or critical:
 * 503 with `Retry-After` and an `application/problem+json` body; critical requests
 * always pass. The check is a status read and two table lookups.
 *
 * @example
 * app.use(shedLoad({
 *   monitor,
 *   priority: (req) => (req.url?.startsWith('/auth') ? 'critical' : tierOf(req) === 'premium' ? 'high' : 'low'),
 * }))
 */
export function shedLoad(options: ShedLoadOptions): ShedLoadHandler {
  const shedder = createLoadShedder(options.monitor, {
    ...(options.degraded ? { degraded: options.degraded } : {}),
    ...(options.critical ? { critical: options.critical } : {}),
  })
  const priorityOf = options.priority ?? (() => 'low' as const)
  const retryAfter = options.retryAfterSeconds ?? 5
  // HTTP delay-seconds: recipients are only required to handle values up to 2^31 - 1.
  if (!(Number.isInteger(retryAfter) && retryAfter >= 0 && retryAfter <= 2_147_483_647))
    throw new TypeError(
      `Invalid shedLoad option "retryAfterSeconds": expected an integer from 0 to 2147483647 (received ${retryAfter})`,
    )
  const counts = { passed: 0, shed: { critical: 0, high: 0, medium: 0, low: 0 } as Record<Priority, number> }

  const handler = (req: IncomingMessage, res: ServerResponse, next?: Next) => {
    const priority = priorityOf(req)
    if (!shedder.shouldShed(priority)) {
      counts.passed++
      return next?.()
    }
    counts.shed[priority] = (counts.shed[priority] ?? 0) + 1
    const status = options.monitor.status
    if (channels.shed.hasSubscribers) channels.shed.publish({ priority, status, url: req.url })
    ;(res as unknown as Record<symbol, boolean>)[SHED] = true
    res.setHeader('retry-after', String(retryAfter))
    sendJson(res, 503, 'application/problem+json', {
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
      detail: `The service is ${status} and is refusing ${priority}-priority requests; retry after ${retryAfter} s.`,
    })
  }
  return Object.assign(handler, {
    stats: () => ({ passed: counts.passed, shed: { ...counts.shed } }),
  })
}
