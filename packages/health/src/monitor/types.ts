// The shapes a health monitor hands out, kept apart from the factory so the HTTP
// glue, the Prometheus export and the status code can name them without importing it.
import type { LatencySummary, Subscribable } from '@headroom/core'
import type { AggregatedPoint, Aggregation } from '../history/aggregate.js'
import type { MetricFilter, MetricPoint } from '../history/series.js'
import type { MemoryPressureEvent, MemoryPressureLevel } from '../process/memory-pressure.js'
import type { ProcessReadings } from '../process/sampler.js'
import type { StatusChange, StatusReason } from '../status/change.js'
import type { HealthStatus } from '../status/status.js'
import type { CheckResult } from './checks.js'

/**
 * How a request ended: `ok`, `error` (the service failed it), or `dependency` (refused
 * because a dependency it needs is unavailable, e.g. its shard is down). `true` and
 * `false` mean `ok` and `error`.
 */
export type RequestOutcome = 'ok' | 'error' | 'dependency'

/** One sample: the process readings plus the request window that ended with it. */
export interface HealthSample extends ProcessReadings {
  /** ms since the epoch. */
  at: number
  /** Requests recorded during the window. */
  requests: number
  /** Failed requests recorded during the window (dependency failures excluded). */
  errors: number
  /** Requests refused because a dependency was unavailable, during the window. */
  dependencyFailures: number
  /** Requests per second over the window. */
  requestRate: number
  /**
   * Failed share of the window's requests, dependency failures left out of both sides;
   * undefined below `minRequests` such requests.
   */
  errorRate: number | undefined
  /** Latency p99 of the window's requests, dependency failures left out, ms; undefined below `minRequests`. */
  latencyP99: number | undefined
}

/** Events of a {@link HealthMonitor}. */
export type HealthEvents = {
  /** The status changed (after dwell time). */
  change: StatusChange
  /** A metric's alert level changed (after its dwell): see `metricAlerts`; `metric` is set. */
  alert: StatusChange
  /** A sample was taken. */
  sample: HealthSample
  /** A dependency check finished a run. */
  check: CheckResult
  /** Memory is short: caches should shrink by `fraction`. */
  memoryPressure: MemoryPressureEvent
  /** An external input was reported or cleared. */
  input: { name: string; status: HealthStatus | undefined; detail?: string }
}

/** An external input: e.g. a circuit breaker on a critical dependency reporting open. */
export interface HealthInput {
  name: string
  status: HealthStatus
  detail?: string
  /** ms since the epoch. */
  since: number
}

/** The plain snapshot `stats()` returns: every field is a number, string or plain object, ready to export. */
export interface HealthStats {
  service: string
  status: HealthStatus
  /** When the status last changed (ms since the epoch). */
  statusSince: number
  ready: boolean
  draining: boolean
  reasons: StatusReason[]
  /** The last sample, or undefined before the first. */
  process: HealthSample | undefined
  requests: {
    /** Counters since start (Prometheus counters). */
    total: number
    errors: number
    /** Requests refused because a dependency was unavailable (not in `errors`). */
    dependencyFailures: number
    /** Sum of all durations, ms (with `total`: a Prometheus summary). */
    durationSumMs: number
    /** Latency since start. */
    latency: LatencySummary
  }
  queries: Record<string, { op: string; model: string; errors: number; latency: LatencySummary }>
  timings: Record<string, LatencySummary>
  checks: CheckResult[]
  inputs: HealthInput[]
  memoryPressure: MemoryPressureLevel
  samples: number
  statusChanges: number
  /** Query pairs and timing names refused because `maxSeries` was reached. */
  droppedSeries: number
}

/** The health monitor: samples the process, records requests, decides a status. */
export interface HealthMonitor extends Subscribable<HealthEvents> {
  /** The current status; reading it is a property read (it is computed per sample). */
  readonly status: HealthStatus
  /** True when not draining and every critical check passed its last run. */
  readonly ready: boolean
  readonly draining: boolean
  /**
   * Records one request: its duration in ms, how it ended (`true`/`'ok'`, `false`/`'error'`,
   * or `'dependency'`: refused because a dependency is unavailable, which is left out of
   * the error rate and latency thresholds), optional labels (kept as given).
   */
  recordRequest(
    durationMs: number,
    outcome?: boolean | RequestOutcome,
    labels?: Readonly<Record<string, string>>,
  ): void
  /** Records one database query (series `query`, labels `{ op, model }`). */
  recordQuery(op: string, model: string, durationMs: number, ok?: boolean): void
  /** Records a named duration (series `timing:<name>`). */
  recordTiming(name: string, durationMs: number): void
  /** Sets an external input (e.g. `reportInput('payments', 'critical', 'breaker open')`); the status follows at once. */
  reportInput(name: string, status: HealthStatus, detail?: string): void
  /** Removes an external input. */
  clearInput(name: string): void
  /** Takes a sample now and evaluates the status (the timer does this every `sampleIntervalMs`). */
  sample(): HealthSample
  /**
   * Raw points of a series with `from <= timestamp < to`: `request`, `query`,
   * `timing:<name>` or a sampled metric (`cpu`, `rss`, `eventLoopDelay`, ...).
   */
  getMetrics(metric: string, from?: number, to?: number, filter?: MetricFilter): MetricPoint[]
  /** A series reduced per interval of `intervalMs` (avg, p50, p95, p99, max, count, rate, ...). */
  getAggregated(
    metric: string,
    from: number,
    to: number,
    aggregation: Aggregation,
    intervalMs: number,
    filter?: MetricFilter,
  ): AggregatedPoint[]
  /** Names of the series held. */
  metricNames(): string[]
  /** Cached check results (never runs a check). */
  checks(): CheckResult[]
  /** Runs every check now and resolves with the results. */
  runChecks(): Promise<CheckResult[]>
  /** Why the status is what it is. */
  reasons(): StatusReason[]
  /** Marks the process as draining (not ready) or not, e.g. during graceful shutdown. */
  setDraining(draining?: boolean): void
  stats(): HealthStats
  /** Stops sampling and checks, closes alert sinks; idempotent. */
  close(): void
}
