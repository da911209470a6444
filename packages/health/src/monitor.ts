import {
  ClosedError,
  childLogger,
  createChannels,
  createEmitter,
  createLatencyHistogram,
  type LatencyHistogram,
  type LatencySummary,
  type Subscribable,
  systemClock,
  type TimerHandle,
} from '@headroom/core'
import type { AggregatedPoint, Aggregation } from './aggregate.js'
import { AGGREGATIONS } from './aggregate.js'
import type { StatusChange, StatusReason } from './alerts.js'
import { type CheckResult, createCheckRunner } from './checks.js'
import {
  createMemoryPressureDetector,
  type MemoryPressureEvent,
  type MemoryPressureLevel,
} from './memory-pressure.js'
import { createMetricStore } from './metric-store.js'
import { type HealthMonitorOptions, resolveOptions } from './options.js'
import { createProcessSampler, type ProcessReadings } from './process-sampler.js'
import type { MetricFilter, MetricPoint, Series } from './series.js'
import { type HealthStatus, severity, worse } from './status.js'
import { createStatusMachine } from './status-machine.js'
import {
  levelOf,
  THRESHOLD_METRICS,
  type ThresholdLevels,
  type ThresholdMetric,
  thresholdFor,
} from './thresholds.js'

/** One sample: the process readings plus the request window that ended with it. */
export interface HealthSample extends ProcessReadings {
  /** ms since the epoch. */
  at: number
  /** Requests recorded during the window. */
  requests: number
  /** Failed requests recorded during the window. */
  errors: number
  /** Requests per second over the window. */
  requestRate: number
  /** Failed share of the window's requests; undefined below `minRequests`. */
  errorRate: number | undefined
  /** Request latency p99 of the window, ms; undefined below `minRequests`. */
  latencyP99: number | undefined
}

/** Events of a {@link HealthMonitor}. */
export type HealthEvents = {
  /** The status changed (after dwell time). */
  change: StatusChange
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

/** Sampled series names (one point per sample). */
export const SAMPLED_METRICS = [
  'cpu',
  'rss',
  'heapUsed',
  'heapTotal',
  'heapUsedRatio',
  'eventLoopDelay',
  'eventLoopDelayMax',
  'eventLoopUtilization',
  'requestRate',
  'errorRate',
  'latencyP99',
] as const

/** The health monitor: samples the process, records requests, decides a status. */
export interface HealthMonitor extends Subscribable<HealthEvents> {
  /** The current status; reading it is a property read (it is computed per sample). */
  readonly status: HealthStatus
  /** True when not draining and every readiness check passed its last run. */
  readonly ready: boolean
  readonly draining: boolean
  /** Records one request: its duration in ms, whether it succeeded, optional labels (kept as given). */
  recordRequest(durationMs: number, ok?: boolean, labels?: Readonly<Record<string, string>>): void
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

const channels = createChannels<{
  change: StatusChange
  sample: HealthSample
  check: CheckResult
  memoryPressure: MemoryPressureEvent
}>('health', ['change', 'sample', 'check', 'memoryPressure'])

function assertDuration(method: string, ms: number): void {
  if (!(ms >= 0) || ms === Number.POSITIVE_INFINITY)
    throw new TypeError(`${method}: durationMs must be a finite number >= 0 (received ${String(ms)})`)
}

function formatValue(metric: ThresholdMetric, value: number): string {
  if (metric === 'rss') return `${Math.round(value / 1048576)} MiB`
  if (metric === 'eventLoopDelay' || metric === 'latencyP99') return `${value.toFixed(1)} ms`
  return value.toFixed(3)
}

/**
 * Creates a health monitor: samples CPU, memory and the event loop on an unref()'d
 * timer, records requests, queries and timings in bounded history, runs dependency
 * checks with timeouts, and turns it all into `healthy | degraded | critical` with
 * enter/exit thresholds and dwell time.
 *
 * @example
 * const monitor = createHealthMonitor({
 *   service: 'api',
 *   checks: { db: () => pool.query('select 1'), redis: () => redis.ping() },
 * })
 * monitor.on('change', ({ from, to, reasons }) => log.warn({ from, to, reasons }, 'health'))
 * monitor.on('memoryPressure', ({ fraction }) => cache.shrink(fraction))
 * // per request:
 * monitor.recordRequest(durationMs, res.statusCode < 500)
 */
export function createHealthMonitor(input: HealthMonitorOptions = {}): HealthMonitor {
  const options = resolveOptions(input)
  const clock = options.clock ?? systemClock
  const logger = childLogger(options.logger, { component: 'health' })
  const events = createEmitter<HealthEvents>((error, event) =>
    logger.error({ err: error, event }, 'health listener threw'),
  )
  const ownSampler = options.sampler === undefined
  // Reading the wall clock costs 25 ns on most hosts and over 100 ns on some VMs: more
  // than everything else recordRequest does. With the system clock and our own sampler,
  // request timestamps come from a value the event-loop probe refreshes on each tick
  // (every eventLoopResolutionMs); an injected clock is read on every call.
  const coarse = ownSampler && clock === systemClock
  let coarseNow = clock.now()
  const sampler =
    options.sampler ??
    createProcessSampler({
      eventLoopResolutionMs: options.eventLoopResolutionMs,
      onTick: coarse
        ? () => {
            coarseNow = Date.now()
          }
        : undefined,
    })
  const stamp = coarse ? () => coarseNow : () => clock.now()
  const machine = createStatusMachine(
    { enterDwellMs: options.enterDwellMs, exitDwellMs: options.exitDwellMs },
    clock.now(),
  )
  const pressure =
    options.memoryPressure === false ? undefined : createMemoryPressureDetector(options.memoryPressure)

  const store = createMetricStore()
  const requestSeries = store.add('request', options.historySize)
  const querySeries = store.add('query', options.historySize)
  const sampled = {} as Record<(typeof SAMPLED_METRICS)[number], Series>
  for (const name of SAMPLED_METRICS) sampled[name] = store.add(name, options.sampleHistorySize)

  // The request window: what happened since the last sample.
  const windowLatency = createLatencyHistogram()
  let windowCount = 0
  let windowErrors = 0
  let windowStart = clock.now()
  const lifetimeLatency = createLatencyHistogram()
  let totalRequests = 0
  let totalErrors = 0
  let durationSum = 0

  interface QueryEntry {
    op: string
    model: string
    errors: number
    histogram: LatencyHistogram
    labels: Readonly<Record<string, string>>
  }
  const queryStats = new Map<string, Map<string, QueryEntry>>()
  let queryPairs = 0
  const timingStats = new Map<string, { series: Series; histogram: LatencyHistogram }>()
  let droppedSeries = 0

  const enabledThresholds: { metric: ThresholdMetric; levels: ThresholdLevels }[] = []
  for (const metric of THRESHOLD_METRICS) {
    const levels = options.thresholds[metric]
    if (levels) enabledThresholds.push({ metric, levels })
  }
  const metricLevels = {} as Record<ThresholdMetric, HealthStatus>
  for (const metric of THRESHOLD_METRICS) metricLevels[metric] = 'healthy'
  const metricValues = {} as Record<ThresholdMetric, number | undefined>
  const inputs = new Map<string, HealthInput>()
  // Mirrors machine.status: the getter is on every request's path (load shedding).
  let status: HealthStatus = machine.status
  let lastSample: HealthSample | undefined
  let samples = 0
  let statusChanges = 0
  let draining = false
  let closed = false
  let timer: TimerHandle | undefined

  const reasons = (): StatusReason[] => {
    const list: StatusReason[] = []
    for (const metric of THRESHOLD_METRICS) {
      const level = metricLevels[metric]
      const levels = options.thresholds[metric]
      if (level === 'healthy' || !levels) continue
      const value = metricValues[metric] ?? 0
      const threshold = thresholdFor(level, levels)
      const holding = threshold !== undefined && value >= threshold ? '>=' : 'still above exit of'
      const shown = threshold ?? 0
      list.push({
        kind: 'metric',
        name: metric,
        status: level,
        value,
        threshold: shown,
        message: `${metric} ${formatValue(metric, value)} ${holding} ${formatValue(metric, shown)}`,
      })
    }
    for (const result of runner.results()) {
      if (result.status !== 'fail' || result.impact === 'healthy') continue
      list.push({
        kind: 'check',
        name: result.name,
        status: result.impact,
        message: `check ${result.name} failed: ${result.error ?? 'unknown error'}`,
      })
    }
    for (const entry of inputs.values()) {
      if (entry.status === 'healthy') continue
      list.push({
        kind: 'input',
        name: entry.name,
        status: entry.status,
        message: `${entry.name} is ${entry.status}${entry.detail ? ` (${entry.detail})` : ''}`,
      })
    }
    return list
  }

  const rawStatus = (): HealthStatus => {
    let raw: HealthStatus = 'healthy'
    for (const metric of THRESHOLD_METRICS) raw = worse(raw, metricLevels[metric])
    for (const result of runner.results()) if (result.status === 'fail') raw = worse(raw, result.impact)
    for (const entry of inputs.values()) raw = worse(raw, entry.status)
    return raw
  }

  const evaluate = () => {
    if (closed) return
    const from = machine.status
    const now = clock.now()
    const to = machine.update(rawStatus(), now)
    if (to === undefined) return
    status = to
    statusChanges++
    const change: StatusChange = { from, to, at: now, reasons: reasons(), service: options.service }
    const fields = { from, to, reasons: change.reasons.map((reason) => reason.message) }
    // Called as methods: pino's log functions read `this`.
    if (severity(to) > severity(from)) logger.warn(fields, 'health status changed')
    else logger.info(fields, 'health status changed')
    events.emit('change', change)
    channels.change.publish(change)
    for (const sink of options.alerts) {
      try {
        sink.send(change)
      } catch (error) {
        logger.error({ err: error }, 'health alert sink threw')
      }
    }
  }

  const runner = createCheckRunner(
    options.checks,
    { timeoutMs: options.checkTimeoutMs, intervalMs: options.checkIntervalMs },
    clock,
    logger,
    (result, previous) => {
      events.emit('check', result)
      channels.check.publish(result)
      if (result.status !== previous.status) evaluate()
    },
  )

  const takeSample = (): HealthSample => {
    const now = clock.now()
    coarseNow = now
    const readings = sampler.read()
    const elapsed = Math.max(1, now - windowStart)
    const enough = windowCount > 0 && windowCount >= options.minRequests
    // A literal, not a spread of `readings`: V8 builds a spread of this size on a slow
    // path that cost more than all the process reads together.
    const sample: HealthSample = {
      cpu: readings.cpu,
      rss: readings.rss,
      heapUsed: readings.heapUsed,
      heapTotal: readings.heapTotal,
      heapLimit: readings.heapLimit,
      heapUsedRatio: readings.heapUsedRatio,
      eventLoopDelay: readings.eventLoopDelay,
      eventLoopDelayMax: readings.eventLoopDelayMax,
      eventLoopUtilization: readings.eventLoopUtilization,
      at: now,
      requests: windowCount,
      errors: windowErrors,
      requestRate: (windowCount * 1000) / elapsed,
      errorRate: enough ? windowErrors / windowCount : undefined,
      latencyP99: enough ? windowLatency.quantile(0.99) : undefined,
    }
    lifetimeLatency.merge(windowLatency)
    windowLatency.reset()
    windowCount = 0
    windowErrors = 0
    windowStart = now

    // Unrolled: a loop over names makes every property access a megamorphic keyed load.
    sampled.cpu.push(now, sample.cpu)
    sampled.rss.push(now, sample.rss)
    sampled.heapUsed.push(now, sample.heapUsed)
    sampled.heapTotal.push(now, sample.heapTotal)
    sampled.heapUsedRatio.push(now, sample.heapUsedRatio)
    sampled.eventLoopDelay.push(now, sample.eventLoopDelay)
    sampled.eventLoopDelayMax.push(now, sample.eventLoopDelayMax)
    sampled.eventLoopUtilization.push(now, sample.eventLoopUtilization)
    sampled.requestRate.push(now, sample.requestRate)
    if (sample.errorRate !== undefined) sampled.errorRate.push(now, sample.errorRate)
    if (sample.latencyP99 !== undefined) sampled.latencyP99.push(now, sample.latencyP99)
    for (const { metric, levels } of enabledThresholds) {
      const value = sample[metric]
      metricValues[metric] = value
      metricLevels[metric] = levelOf(metricLevels[metric], value, levels)
    }
    samples++
    lastSample = sample
    evaluate()
    const event = pressure?.update(readings, now)
    if (event) {
      logger.warn({ level: event.level, ratio: event.ratio }, 'memory pressure')
      events.emit('memoryPressure', event)
      channels.memoryPressure.publish(event)
    }
    if (events.has('sample')) events.emit('sample', sample)
    channels.sample.publish(sample)
    return sample
  }

  const tick = () => {
    timer = undefined
    if (closed) return
    try {
      takeSample()
    } catch (error) {
      logger.error({ err: error }, 'health sample failed')
    }
    if (!closed) timer = clock.setTimeout(tick, options.sampleIntervalMs)
  }
  timer = clock.setTimeout(tick, options.sampleIntervalMs)
  void runner.runAll()

  const timing = (name: string) => {
    let entry = timingStats.get(name)
    if (entry) return entry
    if (queryPairs + timingStats.size >= options.maxSeries) {
      droppedSeries++
      return undefined
    }
    entry = { series: store.add(`timing:${name}`, options.historySize), histogram: createLatencyHistogram() }
    timingStats.set(name, entry)
    return entry
  }

  const queryEntry = (op: string, model: string) => {
    let byModel = queryStats.get(op)
    let entry = byModel?.get(model)
    if (entry) return entry
    if (queryPairs + timingStats.size >= options.maxSeries) {
      droppedSeries++
      return undefined
    }
    if (!byModel) {
      byModel = new Map()
      queryStats.set(op, byModel)
    }
    queryPairs++
    entry = {
      op,
      model,
      errors: 0,
      histogram: createLatencyHistogram(),
      labels: Object.freeze({ op, model }),
    }
    byModel.set(model, entry)
    return entry
  }

  const isReady = () => {
    if (draining || closed) return false
    for (const result of runner.results()) if (result.readiness && result.status !== 'pass') return false
    return true
  }

  return {
    on: events.on,
    get status() {
      return status
    },
    get ready() {
      return isReady()
    },
    get draining() {
      return draining
    },
    recordRequest(durationMs, ok = true, labels) {
      assertDuration('recordRequest', durationMs)
      requestSeries.push(stamp(), durationMs, ok, labels)
      windowLatency.record(durationMs)
      windowCount++
      totalRequests++
      durationSum += durationMs
      if (!ok) {
        windowErrors++
        totalErrors++
      }
    },
    recordQuery(op, model, durationMs, ok = true) {
      assertDuration('recordQuery', durationMs)
      const entry = queryEntry(op, model)
      if (!entry) return
      entry.histogram.record(durationMs)
      if (!ok) entry.errors++
      querySeries.push(stamp(), durationMs, ok, entry.labels)
    },
    recordTiming(name, durationMs) {
      assertDuration('recordTiming', durationMs)
      const entry = timing(name)
      if (!entry) return
      entry.histogram.record(durationMs)
      entry.series.push(stamp(), durationMs)
    },
    reportInput(name, status, detail) {
      if (status !== 'healthy' && status !== 'degraded' && status !== 'critical')
        throw new TypeError(
          `reportInput: status must be healthy, degraded or critical (received ${String(status)})`,
        )
      if (closed) throw new ClosedError('The health monitor is closed')
      const previous = inputs.get(name)
      if (previous?.status === status && previous.detail === detail) return
      const entry: HealthInput = {
        name,
        status,
        since: previous?.status === status ? previous.since : clock.now(),
      }
      if (detail !== undefined) entry.detail = detail
      inputs.set(name, entry)
      events.emit('input', { name, status, ...(detail === undefined ? {} : { detail }) })
      evaluate()
    },
    clearInput(name) {
      if (!inputs.delete(name)) return
      events.emit('input', { name, status: undefined })
      evaluate()
    },
    sample() {
      if (closed) throw new ClosedError('The health monitor is closed')
      return takeSample()
    },
    getMetrics(metric, from = 0, to = Number.POSITIVE_INFINITY, filter) {
      return store.points(metric, from, to, filter)
    },
    getAggregated(metric, from, to, aggregation, intervalMs, filter) {
      if (!AGGREGATIONS.includes(aggregation))
        throw new TypeError(
          `getAggregated: aggregation must be one of ${AGGREGATIONS.join(', ')} (received ${String(aggregation)})`,
        )
      if (!(intervalMs > 0) || !Number.isFinite(intervalMs))
        throw new TypeError(
          `getAggregated: intervalMs must be a positive number (received ${String(intervalMs)})`,
        )
      if (!Number.isFinite(from) || !Number.isFinite(to) || to < from)
        throw new TypeError(
          `getAggregated: from and to must be finite with from <= to (received ${from}, ${to})`,
        )
      if ((to - from) / intervalMs > 100_000)
        throw new TypeError(`getAggregated: more than 100000 intervals requested; use a larger intervalMs`)
      return store.aggregated(metric, from, to, aggregation, intervalMs, filter)
    },
    metricNames: () => store.names(),
    checks: () => [...runner.results()],
    runChecks: () => runner.runAll(),
    reasons,
    setDraining(value = true) {
      draining = value
    },
    stats() {
      const queries: HealthStats['queries'] = {}
      for (const byModel of queryStats.values())
        for (const entry of byModel.values())
          queries[`${entry.op} ${entry.model}`] = {
            op: entry.op,
            model: entry.model,
            errors: entry.errors,
            latency: entry.histogram.summary(),
          }
      const timings: HealthStats['timings'] = {}
      for (const [name, entry] of timingStats) timings[name] = entry.histogram.summary()
      const lifetime = createLatencyHistogram()
      lifetime.merge(lifetimeLatency)
      lifetime.merge(windowLatency)
      return {
        service: options.service,
        status: machine.status,
        statusSince: machine.since,
        ready: isReady(),
        draining,
        reasons: reasons(),
        process: lastSample,
        requests: {
          total: totalRequests,
          errors: totalErrors,
          durationSumMs: durationSum,
          latency: lifetime.summary(),
        },
        queries,
        timings,
        checks: [...runner.results()],
        inputs: [...inputs.values()],
        memoryPressure: pressure?.level ?? 'none',
        samples,
        statusChanges,
        droppedSeries,
      }
    },
    close() {
      if (closed) return
      closed = true
      if (timer !== undefined) clock.clearTimeout(timer)
      timer = undefined
      runner.close()
      if (ownSampler) sampler.close()
      for (const sink of options.alerts) {
        try {
          sink.close()
        } catch (error) {
          logger.error({ err: error }, 'health alert sink close threw')
        }
      }
      events.clear()
    },
  }
}
