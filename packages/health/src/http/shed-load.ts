import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  createShedGate,
  PROBLEM_JSON,
  type ShedLoadCommonOptions,
  type ShedLoadStats,
} from '../shedding/shed-gate.js'
import { markShed } from './marks.js'
import type { Handler, Next } from './types.js'

/** Options of {@link shedLoad}. */
export type ShedLoadOptions = ShedLoadCommonOptions<IncomingMessage>

/** The middleware with its counters. */
export interface ShedLoadHandler extends Handler {
  stats(): ShedLoadStats
}

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
  const gate = createShedGate(options)
  const handler = (req: IncomingMessage, res: ServerResponse, next?: Next) => {
    const refusal = gate.refuse(req, req.url)
    if (refusal === undefined) return next?.()
    markShed(res)
    res.statusCode = refusal.status
    res.setHeader('retry-after', refusal.retryAfter)
    res.setHeader('content-type', PROBLEM_JSON)
    res.setHeader('cache-control', 'no-store')
    res.setHeader('content-length', Buffer.byteLength(refusal.body))
    res.end(refusal.body)
  }
  return Object.assign(handler, { stats: gate.stats })
}
