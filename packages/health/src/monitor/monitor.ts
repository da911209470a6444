import { ClosedError, childLogger, createEmitter, systemClock, type TimerHandle } from '@headroom/core'
import { assertAggregateQuery } from '../history/aggregate.js'
import { createQueryTimingSeries } from '../history/query-timing-series.js'
import { SAMPLED_METRICS, type SampledMetric } from '../history/sampled-metrics.js'
import { assertDuration, type Series } from '../history/series.js'
import { createMetricStore } from '../history/store.js'
import { createMemoryPressureDetector } from '../process/memory-pressure.js'
import { createProcessSampler } from '../process/sampler.js'
import type { StatusChange, StatusReason } from '../status/change.js'
import { createStatusMachine } from '../status/machine.js'
import { createMetricAlerts } from '../status/metric-alerts.js'
import { MetricLevels } from '../status/metric-levels.js'
import { type HealthStatus, severity, worse } from '../status/status.js'
import { channels } from './channels.js'
import { createCheckRunner } from './checks.js'
import { assertInputStatus, HealthInputs } from './inputs.js'
import { type HealthMonitorOptions, resolveOptions } from './options.js'
import { outcomeCode, RequestWindow } from './request-window.js'
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
  const { clock } = options
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
  const requests = new RequestWindow(
    store.add('request', options.historySize),
    options.minRequests,
    clock.now(),
  )
  const recorded = createQueryTimingSeries(store, options.historySize, options.maxSeries, stamp)
  const sampled = {} as Record<SampledMetric, Series>
  for (const name of SAMPLED_METRICS) sampled[name] = store.add(name, options.sampleHistorySize)

  const levels = new MetricLevels(options.thresholds)
  const inputs = new HealthInputs()
  // Mirrors machine.status: the getter is on every request's path (load shedding).
  let status: HealthStatus = machine.status
  let lastSample: HealthSample | undefined
  let samples = 0
  let statusChanges = 0
  let draining = false
  let closed = false
  let timer: TimerHandle | undefined

  // One sink that throws (despite the contract) stops neither the others nor the monitor.
  const sendToSinks = (change: StatusChange) => {
    for (const sink of options.alerts) {
      try {
        sink.send(change)
      } catch (error) {
        logger.error({ err: error }, 'health alert sink threw')
      }
    }
  }

  const reasons = (): StatusReason[] => [...levels.reasons(), ...runner.reasons(), ...inputs.reasons()]

  // Folds metric levels, failed checks and external inputs into a raw status, lets the
  // status machine apply dwell time, and announces each change (log, `change` event,
  // diagnostics channel, alert sinks): once per sample, and when a check or input changes.
  const evaluate = () => {
    if (closed) return
    const from = machine.status
    const now = clock.now()
    // Inputs are reported by components that decided already (a breaker opened): they
    // take effect at once; sampled metrics and checks go through the enter dwell.
    const fromInputs = inputs.worst()
    const to = machine.update(worse(worse(fromInputs, levels.worst()), runner.worst()), now, fromInputs)
    if (to === undefined) return
    // Set before the change is announced, so listeners read the new status.
    status = to
    statusChanges++
    const change: StatusChange = { from, to, at: now, reasons: reasons(), service: options.service }
    const fields = { from, to, reasons: change.reasons.map((reason) => reason.message) }
    // Called as methods: pino's log functions read `this`.
    if (severity(to) > severity(from)) logger.warn(fields, 'health status changed')
    else logger.info(fields, 'health status changed')
    events.emit('change', change)
    channels.change.publish(change)
    sendToSinks(change)
  }

  const runner = createCheckRunner({
    checks: options.checks,
    clock,
    logger,
    onResult(result, previous) {
      events.emit('check', result)
      channels.check.publish(result)
      if (result.status !== previous.status) evaluate()
    },
  })
  const metricAlerts = createMetricAlerts({
    service: options.service,
    rules: options.metricAlerts,
    start: clock.now(),
  })

  const announceAlert = (alert: StatusChange) => {
    const fields = { metric: alert.metric, from: alert.from, to: alert.to, reason: alert.reasons[0]?.message }
    if (alert.to === 'healthy') logger.info(fields, 'health metric alert recovered')
    else logger.warn(fields, 'health metric alert')
    events.emit('alert', alert)
    channels.alert.publish(alert)
    sendToSinks(alert)
  }

  const takeSample = (): HealthSample => {
    const now = clock.now()
    coarseNow = now
    const readings = sampler.read()
    const window = requests.close(now)
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
      requests: window.requests,
      errors: window.errors,
      dependencyFailures: window.dependencyFailures,
      requestRate: window.requestRate,
      errorRate: window.errorRate,
      latencyP99: window.latencyP99,
    }

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
    levels.update(sample)
    samples++
    lastSample = sample
    evaluate()
    if (metricAlerts !== undefined) for (const alert of metricAlerts.update(sample, now)) announceAlert(alert)
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

  const isReady = () => !draining && !closed && runner.criticalPassing()

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
      requests.record(stamp(), durationMs, code, labels)
    },
    recordQuery: recorded.recordQuery,
    recordTiming: recorded.recordTiming,
    reportInput(name, inputStatus, detail) {
      assertInputStatus(inputStatus)
      if (closed) throw new ClosedError('The health monitor is closed')
      if (!inputs.set(name, inputStatus, detail, clock.now())) return
      events.emit('input', { name, status: inputStatus, ...(detail === undefined ? {} : { detail }) })
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
      const query = { from, to, aggregation, intervalMs, filter }
      assertAggregateQuery(query)
      return store.aggregated(metric, query)
    },
    metricNames: () => store.names(),
    checks: () => [...runner.results()],
    runChecks: () => runner.runAll(),
    reasons,
    setDraining(value = true) {
      draining = value
    },
    stats() {
      return {
        service: options.service,
        status: machine.status,
        statusSince: machine.since,
        ready: isReady(),
        draining,
        reasons: reasons(),
        process: lastSample,
        requests: requests.totals(),
        queries: recorded.queries(),
        timings: recorded.timings(),
        checks: [...runner.results()],
        inputs: inputs.list(),
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
