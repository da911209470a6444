import {
  ClosedError,
  childLogger,
  createEmitter,
  createLatencyHistogram,
  systemClock,
  type TimerHandle,
} from '@headroom/core'
import { createQueryTimingSeries } from '../history/query-timing-series.js'
import { createSampledSeries } from '../history/sampled-metrics.js'
import { createMetricStore } from '../history/store.js'
import { createMemoryPressureDetector } from '../process/memory-pressure.js'
import { createProcessSampler } from '../process/sampler.js'
import { createStatusMachine } from '../status/machine.js'
import { createMetricAlerts } from '../status/metric-alerts.js'
import { createMetricLevels } from '../status/metric-levels.js'
import type { HealthStatus } from '../status/status.js'
import { levelOf } from '../status/thresholds.js'
import { createAlertFanout } from './alert-fanout.js'
import { assertAggregatedArguments, assertDuration, outcomeCode } from './arguments.js'
import { channels } from './channels.js'
import { createCheckRunner } from './checks.js'
import { createHealthInputs } from './inputs.js'
import { type HealthMonitorOptions, resolveOptions } from './options.js'
import { createStatusEvaluator } from './status-evaluator.js'
import type { HealthEvents, HealthMonitor, HealthSample } from './types.js'

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

  // Series are created in the order metricNames() lists them: request, query, sampled metrics.
  const store = createMetricStore()
  const requestSeries = store.add('request', options.historySize)
  const recorded = createQueryTimingSeries(store, options.historySize, options.maxSeries, stamp)
  const sampled = createSampledSeries(store, options.sampleHistorySize)

  // The request window: what happened since the last sample. Requests refused because a
  // dependency is unavailable count in the rate but not in the error rate or latency:
  // they are not overload, and shedding healthy traffic would not bring the dependency back.
  const windowLatency = createLatencyHistogram()
  let windowCount = 0
  let windowErrors = 0
  let windowDependency = 0
  let windowStart = clock.now()
  const lifetimeLatency = createLatencyHistogram()
  let totalRequests = 0
  let totalErrors = 0
  let totalDependency = 0
  let durationSum = 0

  const { enabledThresholds, metricLevels, metricValues } = createMetricLevels(options.thresholds)
  // Mirrors machine.status: the getter is on every request's path (load shedding).
  let status: HealthStatus = machine.status
  let lastSample: HealthSample | undefined
  let samples = 0
  let statusChanges = 0
  let draining = false
  let closed = false
  let timer: TimerHandle | undefined

  // The check runner and the inputs call evaluate() only after construction.
  const inputs = createHealthInputs({ clock, events, isClosed: () => closed, onChange: () => evaluate() })
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
  const alerts = createAlertFanout(options.alerts, logger)
  const metricAlerts = createMetricAlerts({
    service: options.service,
    rules: options.metricAlerts,
    enterDwellMs: options.enterDwellMs,
    exitDwellMs: options.exitDwellMs,
    start: clock.now(),
    announce(alert) {
      const fields = {
        metric: alert.metric,
        from: alert.from,
        to: alert.to,
        reason: alert.reasons[0]?.message,
      }
      // Called as methods: pino's log functions read `this`.
      if (alert.to === 'healthy') logger.info(fields, 'health metric alert recovered')
      else logger.warn(fields, 'health metric alert')
      events.emit('alert', alert)
      channels.alert.publish(alert)
      alerts.send(alert)
    },
  })
  const { evaluate, reasons } = createStatusEvaluator({
    service: options.service,
    thresholds: options.thresholds,
    machine,
    clock,
    logger,
    events,
    alerts,
    metricLevels,
    metricValues,
    checks: runner,
    inputs: inputs.entries,
    isClosed: () => closed,
    onChange(to) {
      status = to
      statusChanges++
    },
  })

  const takeSample = (): HealthSample => {
    const now = clock.now()
    coarseNow = now
    const readings = sampler.read()
    const elapsed = Math.max(1, now - windowStart)
    const served = windowCount - windowDependency
    const enough = served > 0 && served >= options.minRequests
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
      dependencyFailures: windowDependency,
      requestRate: (windowCount * 1000) / elapsed,
      errorRate: enough ? windowErrors / served : undefined,
      latencyP99: enough ? windowLatency.quantile(0.99) : undefined,
    }
    lifetimeLatency.merge(windowLatency)
    windowLatency.reset()
    windowCount = 0
    windowErrors = 0
    windowDependency = 0
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
    metricAlerts?.update(sample, now)
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

  const isReady = () => {
    if (draining || closed) return false
    for (const result of runner.results()) if (result.critical && result.status !== 'pass') return false
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
    recordRequest(durationMs, outcome = true, labels) {
      assertDuration('recordRequest', durationMs)
      // Booleans first: the common call, decided without a function call.
      const code = outcome === true ? 0 : outcome === false ? 1 : outcomeCode(outcome)
      requestSeries.push(stamp(), durationMs, code === 0, labels)
      windowCount++
      totalRequests++
      durationSum += durationMs
      if (code === 2) {
        windowDependency++
        totalDependency++
        return
      }
      windowLatency.record(durationMs)
      if (code === 1) {
        windowErrors++
        totalErrors++
      }
    },
    recordQuery: recorded.recordQuery,
    recordTiming: recorded.recordTiming,
    reportInput: inputs.report,
    clearInput: inputs.clear,
    sample() {
      if (closed) throw new ClosedError('The health monitor is closed')
      return takeSample()
    },
    getMetrics(metric, from = 0, to = Number.POSITIVE_INFINITY, filter) {
      return store.points(metric, from, to, filter)
    },
    getAggregated(metric, from, to, aggregation, intervalMs, filter) {
      assertAggregatedArguments(aggregation, intervalMs, from, to)
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
          dependencyFailures: totalDependency,
          durationSumMs: durationSum,
          latency: lifetime.summary(),
        },
        queries: recorded.queries(),
        timings: recorded.timings(),
        checks: [...runner.results()],
        inputs: [...inputs.entries.values()],
        memoryPressure: pressure?.level ?? 'none',
        samples,
        statusChanges,
        droppedSeries: recorded.dropped,
      }
    },
    close() {
      if (closed) return
      closed = true
      if (timer !== undefined) clock.clearTimeout(timer)
      timer = undefined
      runner.close()
      if (ownSampler) sampler.close()
      alerts.close()
      events.clear()
    },
  }
}
