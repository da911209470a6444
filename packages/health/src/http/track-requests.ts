import type { IncomingMessage, ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import { parseOptions, tiedTo } from '@headroom/core'
import { z } from 'zod'
import type { HealthMonitor } from '../monitor/types.js'
import { isDependencyFailure, isShed, markDependency, setTiming, timingOf } from './marks.js'
import { fn, recorderOption, timingSchema } from './options.js'
import {
  createTimingRecord,
  type RequestTiming,
  type RequestTimingOptions,
  type ResolvedTiming,
  reportIfSlow,
  resolveTiming,
  type TimingRecord,
} from './request-timing.js'
import type { Handler, Next } from './types.js'

/**
 * Marks a response as refused because a dependency is unavailable (its shard, Redis,
 * an external API is down), before or after sending it. `trackRequests` then records it
 * as a `dependency` outcome, which the error rate and latency leave out: a dependency
 * failing is not an overload, and shedding users it does not affect would not help.
 *
 * @example
 * app.use((error, req, res, next) => {
 *   if (error instanceof ShardUnavailableError) {
 *     markDependencyFailure(res)
 *     return res.status(503).set('retry-after', '5').json({ title: 'Service Unavailable' })
 *   }
 *   next(error)
 * })
 */
export function markDependencyFailure(res: ServerResponse): void {
  markDependency(res)
}

/**
 * How a closed `node:http` response ended, for every adapter over `node:http` (Express,
 * Fastify): undefined when `shedLoad` refused it (not recorded), `dependency` when marked,
 * a failure when the client went away first, else what `isOk` says.
 */
export function closedOutcome(
  res: ServerResponse,
  isOk: (res: ServerResponse) => boolean,
): boolean | 'dependency' | undefined {
  if (isShed(res)) return undefined
  if (isDependencyFailure(res)) return 'dependency'
  return res.writableFinished && isOk(res)
}

/** Options of {@link trackRequests}. */
export interface TrackRequestsOptions {
  monitor: HealthMonitor
  /**
   * Whether a finished response counts as a success; a response marked with
   * `markDependencyFailure` is recorded as a dependency failure whatever this says.
   * @default (res) => res.statusCode < 500
   */
  ok?: (res: ServerResponse) => boolean
  /** Labels for the `request` series (e.g. the route); keep the set of values small. @default none */
  labels?: (req: IncomingMessage, res: ServerResponse) => Readonly<Record<string, string>> | undefined
  /**
   * Per-request timing: a `Server-Timing` header with the total and the phases the app
   * marks (`requestTiming(res).mark('db')`, or `res.locals.timing` under Express), and a
   * report of the requests over `slowMs`. Off, the request path is the plain one.
   * @default off
   */
  timing?: RequestTimingOptions
}

const trackSchema = tiedTo<TrackRequestsOptions>()(
  z.strictObject({
    monitor: recorderOption,
    ok: fn<(res: ServerResponse) => boolean>().default(() => (res: ServerResponse) => res.statusCode < 500),
    labels: fn<TrackRequestsOptions['labels']>().optional(),
    timing: timingSchema.optional(),
  }),
)

/**
 * The timing handle of a response tracked with `timing` (undefined otherwise): mark the
 * phases of the request as they end.
 *
 * @example
 * const rows = await db.query(sql)
 * requestTiming(res)?.mark('db')
 */
export function requestTiming(res: ServerResponse): RequestTiming | undefined {
  return timingOf(res)
}

/**
 * Sends `Server-Timing` with the response's headers, whoever writes them (Express,
 * Fastify, `res.end()`): Node calls `writeHead` for an implicit header too.
 */
export function timeResponse(res: ServerResponse, record: TimingRecord, serverTiming: boolean): void {
  setTiming(res, record)
  if (!serverTiming) return
  const writeHead = res.writeHead
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    if (!this.headersSent) this.setHeader('Server-Timing', record.header())
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args)
  } as typeof res.writeHead
}

/** The route of a request for the slow-request report: Express' pattern when it matched one. */
function routeOf(req: IncomingMessage): string {
  const express = req as IncomingMessage & { baseUrl?: string; route?: { path?: unknown } }
  if (typeof express.route?.path === 'string') return `${express.baseUrl ?? ''}${express.route.path}`
  const url = req.url ?? '/'
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

function trackWithTiming(options: z.output<typeof trackSchema>, timing: ResolvedTiming): Handler {
  const { monitor, ok: isOk } = options
  return (req: IncomingMessage, res: ServerResponse, next?: Next) => {
    const record = createTimingRecord()
    timeResponse(res, record, timing.serverTiming)
    const locals = (res as ServerResponse & { locals?: Record<string, unknown> }).locals
    if (locals) locals.timing = record
    res.once('close', () => {
      const totalMs = performance.now() - record.started
      const outcome = closedOutcome(res, isOk)
      if (outcome !== undefined) monitor.recordRequest(totalMs, outcome, options.labels?.(req, res))
      reportIfSlow(
        timing,
        record,
        { method: req.method ?? 'GET', route: routeOf(req), status: res.statusCode },
        totalMs,
      )
    })
    next?.()
  }
}

/**
 * Records each request's duration and outcome in the monitor when the response
 * finishes (or the client goes away, which counts as a failure). Responses refused
 * by `shedLoad` are not recorded: counting them as errors would feed the overload
 * that caused them. Responses marked with `markDependencyFailure` are recorded as
 * `dependency` outcomes, outside the error rate.
 *
 * @example
 * app.use(trackRequests({ monitor }))
 * app.use(shedLoad({ monitor, priority }))
 */
export function trackRequests(options: TrackRequestsOptions): Handler {
  const resolved = parseOptions('trackRequests', trackSchema, options)
  const { monitor, ok: isOk, labels } = resolved
  const timing = resolveTiming(resolved.timing)
  if (timing !== undefined) return trackWithTiming(resolved, timing)
  return (req: IncomingMessage, res: ServerResponse, next?: Next) => {
    const started = performance.now()
    // One listener: a response emits 'close' after 'finish' when it completed, and alone
    // when the client went away first; writableFinished tells which. Two listeners and
    // their removal cost more than the rest of the recording.
    // The rules of closedOutcome, inlined: this is every request's path when timing is off.
    res.once('close', () => {
      if (isShed(res)) return
      monitor.recordRequest(
        performance.now() - started,
        isDependencyFailure(res) ? 'dependency' : res.writableFinished && isOk(res),
        labels?.(req, res),
      )
    })
    next?.()
  }
}
