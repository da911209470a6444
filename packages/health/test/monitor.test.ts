import { createManualClock, isHeadroomError } from '@headroom/core'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { createHealthMonitor } from '../src/monitor/monitor.js'
import type { HealthMonitorOptions } from '../src/monitor/options.js'
import type { HealthMonitor } from '../src/monitor/types.js'
import type { MemoryPressureEvent } from '../src/process/memory-pressure.js'
import type { StatusChange } from '../src/status/change.js'
import { scriptedSampler } from './helpers.js'

const monitors: HealthMonitor[] = []
afterEach(() => {
  for (const monitor of monitors.splice(0)) monitor.close()
})

function setup(options: HealthMonitorOptions = {}) {
  const clock = createManualClock(1_000_000)
  const sampler = scriptedSampler()
  const monitor = createHealthMonitor({
    clock,
    sampler,
    sampleIntervalMs: 1000,
    // These tests follow one sample at a time; the default enter dwell has its own tests.
    enterDwellMs: 0,
    exitDwellMs: 3000,
    ...options,
  })
  monitors.push(monitor)
  const changes: StatusChange[] = []
  monitor.on('change', (change) => changes.push(change))
  return { clock, sampler, monitor, changes }
}

describe('createHealthMonitor: status from scripted samples', () => {
  it('goes degraded at the first sample after a 200 ms event-loop stall and back after exit level + dwell', () => {
    const { clock, sampler, monitor, changes } = setup()
    clock.advance(1000)
    expect(monitor.status).toBe('healthy')
    sampler.set({ eventLoopDelay: 200, eventLoopDelayMax: 200 })
    clock.advance(1000)
    expect(monitor.status).toBe('degraded')
    expect(changes.at(-1)).toMatchObject({ from: 'healthy', to: 'degraded', service: 'service' })
    expect(changes.at(-1)?.reasons[0]).toMatchObject({
      kind: 'metric',
      name: 'eventLoopDelay',
      value: 200,
      threshold: 100,
    })
    // Below enter but above exit: stays degraded.
    sampler.set({ eventLoopDelay: 70 })
    clock.advance(5000)
    expect(monitor.status).toBe('degraded')
    // Below exit: healthy once the dwell time has passed, not before.
    sampler.set({ eventLoopDelay: 5 })
    clock.advance(2000)
    expect(monitor.status).toBe('degraded')
    clock.advance(2000)
    expect(monitor.status).toBe('healthy')
    expect(changes.map((change) => change.to)).toEqual(['degraded', 'healthy'])
  })

  it('noisy readings around a threshold do not flap', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 60, max: 140, noNaN: true }), { minLength: 1, maxLength: 60 }),
        (delays) => {
          const { clock, sampler, monitor, changes } = setup()
          for (const delay of delays) {
            sampler.set({ eventLoopDelay: delay })
            clock.advance(1000)
          }
          expect(changes.length).toBeLessThanOrEqual(1)
          monitor.close()
        },
      ),
      { numRuns: 50 },
    )
  })

  it('critical from event-loop utilization, and the reasons say why', () => {
    const { clock, sampler, monitor } = setup()
    sampler.set({ eventLoopUtilization: 0.99 })
    clock.advance(1000)
    expect(monitor.status).toBe('critical')
    expect(monitor.reasons()[0]?.message).toMatch(/eventLoopUtilization 0\.990 >= 0\.980/)
  })

  it('error rate has no threshold by default: errors alone shed nothing', () => {
    const { clock, monitor } = setup()
    for (let i = 0; i < 100; i++) monitor.recordRequest(3, false)
    clock.advance(1000)
    expect(monitor.stats().process?.errorRate).toBe(1)
    expect(monitor.status).toBe('healthy')
  })

  it('a dependency outcome counts in the request rate, not in the error rate or latency', () => {
    const { clock, monitor } = setup({
      minRequests: 10,
      thresholds: {
        errorRate: { degraded: { enter: 0.1, exit: 0.05 } },
        latencyP99: { degraded: { enter: 500, exit: 200 } },
      },
    })
    for (let i = 0; i < 30; i++) monitor.recordRequest(i < 10 ? 2000 : 5, i < 10 ? 'dependency' : 'ok')
    monitor.recordRequest(5, 'error')
    clock.advance(1000)
    expect(monitor.stats().process).toMatchObject({
      requests: 31,
      errors: 1,
      dependencyFailures: 10,
      errorRate: 1 / 21,
    })
    expect(monitor.stats().process?.latencyP99).toBeLessThan(10)
    expect(monitor.status).toBe('healthy')
    expect(monitor.stats().requests).toMatchObject({ total: 31, errors: 1, dependencyFailures: 10 })
    expect(monitor.getMetrics('request').filter((point) => !point.ok)).toHaveLength(11)
    expect(() => monitor.recordRequest(1, 'dependncy' as never)).toThrow(
      "recordRequest: outcome must be true, false, 'ok', 'error' or 'dependency' (received dependncy)",
    )
  })

  it('error rate counts only with enough requests in the window', () => {
    const { clock, monitor } = setup({
      minRequests: 10,
      thresholds: {
        errorRate: { degraded: { enter: 0.1, exit: 0.05 }, critical: { enter: 0.5, exit: 0.3 } },
      },
    })
    for (let i = 0; i < 5; i++) monitor.recordRequest(3, false)
    clock.advance(1000)
    expect(monitor.status).toBe('healthy')
    for (let i = 0; i < 20; i++) monitor.recordRequest(3, i % 4 !== 0)
    clock.advance(1000)
    expect(monitor.status).toBe('degraded')
    expect(monitor.stats().process?.errorRate).toBe(0.25)
    for (let i = 0; i < 20; i++) monitor.recordRequest(3, i < 8)
    clock.advance(1000)
    expect(monitor.status).toBe('critical')
  })

  it('a latency threshold set by the user applies to the window p99', () => {
    const { clock, monitor } = setup({
      thresholds: { latencyP99: { degraded: { enter: 250, exit: 150 } } },
      minRequests: 1,
    })
    for (let i = 0; i < 100; i++) monitor.recordRequest(i < 95 ? 20 : 400)
    clock.advance(1000)
    expect(monitor.status).toBe('degraded')
    expect(monitor.stats().process?.latencyP99).toBeGreaterThan(380)
  })

  it('thresholds merge band by band and false switches a metric off', () => {
    const { clock, sampler, monitor } = setup({
      thresholds: { eventLoopDelay: { degraded: { enter: 300, exit: 100 } }, eventLoopUtilization: false },
    })
    sampler.set({ eventLoopDelay: 200, eventLoopUtilization: 1 })
    clock.advance(1000)
    expect(monitor.status).toBe('healthy')
    sampler.set({ eventLoopDelay: 600 })
    clock.advance(1000)
    expect(monitor.status).toBe('critical') // the default critical band (500) is kept
  })

  it('enterDwellMs ignores a single bad sample', () => {
    const { clock, sampler, monitor } = setup({ enterDwellMs: 1500 })
    sampler.set({ eventLoopDelay: 200 })
    clock.advance(1000)
    sampler.set({ eventLoopDelay: 1 })
    clock.advance(1000)
    expect(monitor.status).toBe('healthy')
    sampler.set({ eventLoopDelay: 200 })
    clock.advance(3000)
    expect(monitor.status).toBe('degraded')
  })
})

describe('external inputs', () => {
  it('an input (a breaker reporting open) sets the status at once and clears with the dwell time', () => {
    const { clock, monitor, changes } = setup()
    monitor.reportInput('payments-breaker', 'critical', 'circuit open')
    expect(monitor.status).toBe('critical')
    expect(changes[0]?.reasons).toEqual([
      {
        kind: 'input',
        name: 'payments-breaker',
        status: 'critical',
        message: 'payments-breaker is critical (circuit open)',
      },
    ])
    monitor.reportInput('payments-breaker', 'healthy')
    expect(monitor.status).toBe('critical')
    clock.advance(3000)
    expect(monitor.status).toBe('healthy')
    monitor.reportInput('search', 'degraded')
    monitor.clearInput('search')
    clock.advance(3000)
    expect(monitor.status).toBe('healthy')
    expect(monitor.stats().inputs.map((input) => input.name)).toEqual(['payments-breaker'])
  })

  it('rejects an unknown status and changes nothing', () => {
    const { monitor } = setup()
    expect(() => monitor.reportInput('x', 'broken' as never)).toThrow(/must be healthy, degraded or critical/)
    expect(monitor.stats().inputs).toEqual([])
  })
})

describe('metrics history', () => {
  it('records requests, queries and timings and answers getMetrics with filters', () => {
    const { clock, monitor } = setup()
    const start = clock.now()
    monitor.recordRequest(10, true, { route: '/a' })
    clock.advance(10)
    monitor.recordRequest(30, false, { route: '/b' })
    monitor.recordQuery('select', 'user', 4)
    monitor.recordQuery('insert', 'event', 9, false)
    monitor.recordTiming('render', 2.5)
    expect(monitor.getMetrics('request').map((point) => point.value)).toEqual([10, 30])
    expect(monitor.getMetrics('request', start, start + 5)).toEqual([
      { timestamp: start, value: 10, ok: true, labels: { route: '/a' } },
    ])
    expect(monitor.getMetrics('request', 0, Infinity, { ok: false })).toHaveLength(1)
    expect(monitor.getMetrics('request', 0, Infinity, { route: '/a' })).toHaveLength(1)
    expect(monitor.getMetrics('request', 0, Infinity, (point) => point.value > 20)).toHaveLength(1)
    expect(monitor.getMetrics('query', 0, Infinity, { model: 'event' })[0]).toMatchObject({
      value: 9,
      ok: false,
    })
    expect(monitor.getMetrics('timing:render')[0]?.value).toBe(2.5)
    expect(monitor.getMetrics('nope')).toEqual([])
    const stats = monitor.stats()
    expect(stats.requests).toMatchObject({ total: 2, errors: 1, durationSumMs: 40 })
    expect(stats.queries['insert event']).toMatchObject({ op: 'insert', model: 'event', errors: 1 })
    expect(stats.timings.render?.count).toBe(1)
  })

  it('getAggregated buckets by interval', () => {
    const { clock, monitor } = setup()
    const start = clock.now()
    for (let i = 0; i < 10; i++) {
      monitor.recordRequest(i + 1)
      clock.set(clock.now() + 100)
    }
    const buckets = monitor.getAggregated('request', start, start + 1000, 'avg', 500)
    expect(buckets).toEqual([
      { start, end: start + 500, value: 3, count: 5 },
      { start: start + 500, end: start + 1000, value: 8, count: 5 },
    ])
    expect(monitor.getAggregated('request', start, start + 1000, 'p95', 1000)[0]?.value).toBe(10)
    expect(monitor.getAggregated('request', start, start + 1000, 'count', 250).map((b) => b.count)).toEqual([
      3, 2, 3, 2,
    ])
    expect(monitor.getAggregated('request', start, start + 1000, 'rate', 1000)[0]?.value).toBe(10)
    expect(monitor.getAggregated('request', start - 1000, start, 'max', 1000)[0]).toMatchObject({
      value: null,
      count: 0,
    })
  })

  it('sampled series are kept per sample and exported in stats()', () => {
    const { clock, sampler, monitor } = setup()
    sampler.set({ rss: 123 })
    clock.advance(3000)
    expect(monitor.getMetrics('rss').map((point) => point.value)).toEqual([123, 123, 123])
    expect(monitor.metricNames()).toEqual(
      expect.arrayContaining(['request', 'query', 'cpu', 'eventLoopDelay']),
    )
    expect(monitor.stats()).toMatchObject({
      samples: 3,
      status: 'healthy',
      ready: true,
      process: { rss: 123 },
    })
  })

  it('history is bounded: the oldest points go first', () => {
    const { monitor } = setup({ historySize: 100 })
    for (let i = 0; i < 1000; i++) monitor.recordRequest(i)
    const points = monitor.getMetrics('request')
    expect(points).toHaveLength(100)
    expect(points[0]?.value).toBe(900)
    expect(monitor.stats().requests.total).toBe(1000)
  })

  it('maxSeries bounds timing names and query pairs', () => {
    const { monitor } = setup({ maxSeries: 3 })
    monitor.recordQuery('select', 'a', 1)
    for (let i = 0; i < 10; i++) monitor.recordTiming(`t${i}`, 1)
    expect(Object.keys(monitor.stats().timings)).toEqual(['t0', 't1'])
    expect(monitor.stats().droppedSeries).toBe(8)
  })

  it('bad input gets a clear error and changes nothing', () => {
    const { monitor } = setup()
    expect(() => monitor.recordRequest(Number.NaN)).toThrow(
      /recordRequest: durationMs must be a finite number >= 0 \(received NaN\)/,
    )
    expect(() => monitor.recordRequest(-1)).toThrow(TypeError)
    expect(() => monitor.recordTiming('x', Infinity)).toThrow(/recordTiming/)
    expect(() => monitor.recordQuery('s', 'm', -3)).toThrow(/recordQuery/)
    expect(monitor.stats().requests.total).toBe(0)
    expect(monitor.getMetrics('request')).toEqual([])
    expect(() => monitor.getAggregated('request', 0, 10, 'median' as never, 1)).toThrow(
      /aggregation must be one of/,
    )
    expect(() => monitor.getAggregated('request', 0, 10, 'avg', 0)).toThrow(/intervalMs/)
  })
})

describe('memory pressure', () => {
  it('signals moderate then critical with the fraction to shrink, repeating while it lasts', () => {
    const { clock, sampler, monitor } = setup({ memoryPressure: { repeatMs: 5000 } })
    const events: MemoryPressureEvent[] = []
    monitor.on('memoryPressure', (event) => events.push(event))
    sampler.set({ heapUsedRatio: 0.82 })
    clock.advance(1000)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ level: 'moderate', fraction: 0.2 })
    clock.advance(3000)
    expect(events).toHaveLength(1)
    sampler.set({ heapUsedRatio: 0.93 })
    clock.advance(1000)
    expect(events.at(-1)).toMatchObject({ level: 'critical', fraction: 0.5 })
    clock.advance(5000)
    expect(events).toHaveLength(3)
    sampler.set({ heapUsedRatio: 0.5 })
    clock.advance(10_000)
    expect(events).toHaveLength(3)
    expect(monitor.stats().memoryPressure).toBe('none')
  })

  it('counts RSS against maxRssBytes', () => {
    const { clock, sampler, monitor } = setup({ memoryPressure: { maxRssBytes: 1000 } })
    const events: MemoryPressureEvent[] = []
    monitor.on('memoryPressure', (event) => events.push(event))
    sampler.set({ rss: 950 })
    clock.advance(1000)
    expect(events[0]).toMatchObject({ level: 'critical', ratio: 0.95 })
  })
})

describe('options and lifecycle', () => {
  it('names the option and the value on invalid options', () => {
    expect(() => createHealthMonitor({ sampleIntervalMs: -5 })).toThrow(
      /Invalid createHealthMonitor option "sampleIntervalMs": .*\(received -5\)/,
    )
    expect(() =>
      createHealthMonitor({ thresholds: { eventLoopDelay: { degraded: { enter: 10, exit: 20 } } } }),
    ).toThrow(/"thresholds.eventLoopDelay.degraded": expected exit <= enter/)
    expect(() =>
      createHealthMonitor({ thresholds: { eventLoopDelay: { critical: { enter: 50, exit: 20 } } } }),
    ).toThrow(/critical.enter >= degraded.enter/)
    expect(() => createHealthMonitor({ thresholds: { bogus: false } as never })).toThrow(/thresholds/)
    expect(() => createHealthMonitor({ checks: { db: 42 as never } })).toThrow(/"checks.db"/)
  })

  it('close() clears every timer, closes sinks, and refuses further use', () => {
    const closed: string[] = []
    const { clock, monitor, sampler } = setup({
      checks: { db: () => true },
      alerts: [{ send: () => {}, close: () => closed.push('sink') }],
    })
    expect(clock.pending()).toBeGreaterThan(0)
    monitor.close()
    monitor.close()
    expect(clock.pending()).toBe(0)
    expect(closed).toEqual(['sink'])
    expect(sampler.closed).toBe(false) // an injected sampler belongs to the caller
    expect(monitor.ready).toBe(false)
    try {
      monitor.sample()
      expect.unreachable()
    } catch (error) {
      expect(isHeadroomError(error, 'E_CLOSED')).toBe(true)
    }
  })

  it('a listener that throws does not break sampling', () => {
    const { clock, sampler, monitor } = setup()
    monitor.on('sample', () => {
      throw new Error('listener bug')
    })
    clock.advance(3000)
    expect(sampler.reads).toBe(3)
    expect(monitor.stats().samples).toBe(3)
  })

  it('sends every change to the alert sinks', () => {
    const sent: string[] = []
    const { clock, sampler } = setup({ alerts: [{ send: (change) => sent.push(change.to), close() {} }] })
    sampler.set({ eventLoopDelay: 600 })
    clock.advance(1000)
    sampler.set({ eventLoopDelay: 1 })
    clock.advance(5000)
    expect(sent).toEqual(['critical', 'healthy'])
  })
})

describe('logging', () => {
  it('calls the logger as methods, as pino needs (its log functions read `this`)', () => {
    class StrictLogger {
      readonly #lines: string[] = []
      get lines() {
        return this.#lines
      }
      #write(level: string, msg?: unknown) {
        this.#lines.push(`${level}: ${String(msg)}`)
      }
      trace(_: unknown, msg?: unknown) {
        this.#write('trace', msg)
      }
      debug(_: unknown, msg?: unknown) {
        this.#write('debug', msg)
      }
      info(_: unknown, msg?: unknown) {
        this.#write('info', msg)
      }
      warn(_: unknown, msg?: unknown) {
        this.#write('warn', msg)
      }
      error(_: unknown, msg?: unknown) {
        this.#write('error', msg)
      }
    }
    const logger = new StrictLogger()
    const { clock, monitor } = setup({ logger })
    monitor.reportInput('payments-breaker', 'critical', 'circuit open')
    monitor.reportInput('payments-breaker', 'healthy')
    clock.advance(3000)
    expect(logger.lines).toEqual(['warn: health status changed', 'info: health status changed'])
  })
})
