// Per-request timing for trackRequests' `timing` option: the phases an app marks, the
// `Server-Timing` header built from them, and the slow-request report. Nothing here runs
// unless the option is set: trackRequests without it keeps its one-listener path.
import { performance } from 'node:perf_hooks'
import type { Logger } from '@headroom/core'

/** Options of trackRequests' `timing` (every adapter). */
export interface RequestTimingOptions {
  /** Send `Server-Timing: total;dur=..., <phase>;dur=...` on every response. @default true */
  serverTiming?: boolean
  /**
   * Report requests that take this long or longer, ms (total to the end of the response).
   * Needs `logger` or `onSlow`. @default none (no report)
   */
  slowMs?: number
  /** Receives each slow-request report. @default logs it on `logger` at warn */
  onSlow?: (report: SlowRequestReport) => void
  /** Where slow requests are logged when there is no `onSlow`. @default none */
  logger?: Logger
}

/** One request over `slowMs`. */
export interface SlowRequestReport {
  method: string
  /** The route pattern when the framework knows it (`/users/:id`), else the path. */
  route: string
  status: number
  /** From the request's arrival at the tracker to the end of the response, ms. */
  totalMs: number
  /** The phases the app marked, ms each, in marking order. */
  phases: Record<string, number>
}

/** The timing handle of one request: `requestTiming(res)` (node:http), `(reply)` (Fastify), `(request)` (fetch). */
export interface RequestTiming {
  /**
   * Marks the end of a phase: without `durationMs`, the phase lasted since the previous
   * mark (or since the request arrived); with it, the phase took that long. A name marked
   * twice adds up.
   */
  mark(name: string, durationMs?: number): void
  /** The phases so far, ms each. */
  phases(): Record<string, number>
}

/** The per-request state behind a {@link RequestTiming}. */
export interface TimingRecord extends RequestTiming {
  readonly started: number
  /** The `Server-Timing` value at this moment. */
  header(): string
}

// Server-Timing names are tokens (RFC 9110); a phase name is reduced to one.
const token = (name: string) => name.replace(/[^!#$%&'*+\-.^_`|~0-9A-Za-z]/g, '_') || '_'

export function createTimingRecord(started = performance.now()): TimingRecord {
  const phases: Record<string, number> = {}
  let last = started
  return {
    started,
    mark(name, durationMs) {
      const now = performance.now()
      const took = durationMs ?? now - last
      last = now
      phases[name] = (phases[name] ?? 0) + took
    },
    phases: () => ({ ...phases }),
    header() {
      let value = `total;dur=${(performance.now() - started).toFixed(1)}`
      for (const name in phases) value += `, ${token(name)};dur=${phases[name]!.toFixed(1)}`
      return value
    },
  }
}

/** The resolved options: `report` is undefined when there is no slow-request report. */
export interface ResolvedTiming {
  serverTiming: boolean
  slowMs: number
  report: ((report: SlowRequestReport) => void) | undefined
}

/** The parsed `timing` option, or undefined when timing is off. */
export function resolveTiming(
  options:
    | {
        serverTiming: boolean
        slowMs?: number | undefined
        onSlow?: RequestTimingOptions['onSlow']
        logger?: Logger | undefined
      }
    | undefined,
): ResolvedTiming | undefined {
  if (options === undefined) return undefined
  const { slowMs, onSlow, logger } = options
  const report =
    slowMs === undefined
      ? undefined
      : (onSlow ?? ((entry: SlowRequestReport) => logger!.warn(entry, 'slow request')))
  // No slowMs: no report, so no request is ever slow enough for one.
  return { serverTiming: options.serverTiming, slowMs: slowMs ?? Number.POSITIVE_INFINITY, report }
}

/** Reports the request when it was slow; never throws into the request path. */
export function reportIfSlow(
  timing: ResolvedTiming,
  record: TimingRecord,
  entry: { method: string; route: string; status: number },
  totalMs: number,
): void {
  if (timing.report === undefined || totalMs < timing.slowMs) return
  try {
    timing.report({ ...entry, totalMs, phases: record.phases() })
  } catch {
    // A report hook that throws must not take the response down with it.
  }
}
