import type { IncomingMessage, ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import { type Handler, type Next, SHED } from './http-types.js'
import type { HealthMonitor } from './monitor-types.js'

/** Options of {@link trackRequests}. */
export interface TrackRequestsOptions {
  monitor: HealthMonitor
  /** Whether a finished response counts as a success. @default (res) => res.statusCode < 500 */
  ok?: (res: ServerResponse) => boolean
  /** Labels for the `request` series (e.g. the route); keep the set of values small. @default none */
  labels?: (req: IncomingMessage, res: ServerResponse) => Readonly<Record<string, string>> | undefined
}

/**
 * Records each request's duration and outcome in the monitor when the response
 * finishes (or the client goes away, which counts as a failure). Responses refused
 * by `shedLoad` are not recorded: counting them as errors would feed the overload
 * that caused them.
 *
 * @example
 * app.use(trackRequests({ monitor }))
 * app.use(shedLoad({ monitor, priority }))
 */
export function trackRequests(options: TrackRequestsOptions): Handler {
  const { monitor } = options
  const isOk = options.ok ?? ((res: ServerResponse) => res.statusCode < 500)
  return (req: IncomingMessage, res: ServerResponse, next?: Next) => {
    const started = performance.now()
    // One listener: a response emits 'close' after 'finish' when it completed, and alone
    // when the client went away first; writableFinished tells which. Two listeners and
    // their removal cost more than the rest of the recording.
    res.once('close', () => {
      if ((res as unknown as Record<symbol, boolean>)[SHED]) return
      monitor.recordRequest(
        performance.now() - started,
        res.writableFinished && isOk(res),
        options.labels?.(req, res),
      )
    })
    next?.()
  }
}
