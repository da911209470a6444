import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import underPressure from '@fastify/under-pressure'
import { createHealthMonitor, createLoadShedder, type HealthMonitor, type Priority } from '@headroom/health'
import { trackRequests } from '@headroom/health/http'
import Fastify from 'fastify'
import { type BenchGroup, consume, defineSuite, type Measurement } from '../src/suite.js'

const BATCH = 1024
const SAMPLES = 2000

/** Durations and priorities generated before timing: a realistic mix, same for every task. */
const durations = Array.from({ length: BATCH }, (_, i) => 2 + ((i * 7919) % 97) / 3)
const priorities: Priority[] = Array.from({ length: BATCH }, (_, i) =>
  i % 10 === 0 ? 'critical' : i % 3 === 0 ? 'high' : 'low',
)

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

/** Times `SAMPLES` calls one by one (a sample is a few µs: tinybench's per-call overhead would dominate). */
function timeSamples(sample: () => unknown, targetUs?: number): Measurement {
  const times: number[] = []
  const started = performance.now()
  for (let i = 0; i < SAMPLES; i++) {
    const t = performance.now()
    consume(sample())
    times.push(performance.now() - t)
  }
  const ms = performance.now() - started
  times.sort((a, b) => a - b)
  const p50 = percentile(times, 0.5)
  const notes: Record<string, string | number> = { 'p50 µs': p50 * 1000 }
  if (targetUs !== undefined) notes[`p50 < ${targetUs} µs`] = p50 * 1000 < targetUs ? 'MET' : 'MISS'
  return { ops: SAMPLES, ms, p50, p99: percentile(times, 0.99), notes }
}

/**
 * trackRequests as it was before the `timing` option (the reference its timing-off path
 * must match): one 'close' listener that records duration and outcome.
 */
function referenceTrackRequests(monitor: HealthMonitor) {
  const SHED = Symbol.for('headroom.health.shed')
  const DEPENDENCY_FAILURE = Symbol.for('headroom.health.dependencyFailure')
  const isOk = (res: ServerResponse) => res.statusCode < 500
  return (_req: IncomingMessage, res: ServerResponse, next?: () => void) => {
    const started = performance.now()
    res.once('close', () => {
      const marks = res as unknown as Record<symbol, boolean | undefined>
      if (marks[SHED]) return
      monitor.recordRequest(
        performance.now() - started,
        marks[DEPENDENCY_FAILURE] ? 'dependency' : res.writableFinished && isOk(res),
      )
    })
    next?.()
  }
}

/** Real node:http request/response objects, made before timing and reused: 'close' is emitted by hand. */
function responses(count: number): { req: IncomingMessage; res: ServerResponse }[] {
  return Array.from({ length: count }, () => {
    const req = new IncomingMessage(new Socket())
    req.method = 'GET'
    req.url = '/x'
    return { req, res: new ServerResponse(req) }
  })
}

let teardown: (() => Promise<void>) | undefined

export default defineSuite({
  name: 'health',
  async setup(): Promise<BenchGroup[]> {
    // Sampling is driven by the benchmark; the interval timer stays out of the way.
    const monitor = createHealthMonitor({ sampleIntervalMs: 3_600_000, exitDwellMs: 0 })
    const shedder = createLoadShedder(monitor)

    const pressured = Fastify()
    await pressured.register(underPressure, {
      maxEventLoopDelay: 1000,
      maxHeapUsedBytes: 1e12,
      maxRssBytes: 1e12,
      maxEventLoopUtilization: 0.999,
    })
    await pressured.ready()

    const bare = Fastify()
    bare.get('/', async () => 'ok')
    await bare.ready()
    const withUnderPressure = Fastify()
    await withUnderPressure.register(underPressure, {
      maxEventLoopDelay: 1000,
      maxHeapUsedBytes: 1e12,
      maxRssBytes: 1e12,
      maxEventLoopUtilization: 0.999,
    })
    withUnderPressure.get('/', async () => 'ok')
    await withUnderPressure.ready()
    const withHealth = Fastify()
    const httpMonitor = createHealthMonitor({ sampleIntervalMs: 1000 })
    const httpShedder = createLoadShedder(httpMonitor)
    withHealth.addHook('onRequest', (request, reply, done) => {
      if (httpShedder.shouldShed(request.headers['x-priority'] === 'critical' ? 'critical' : 'low')) {
        reply.code(503).header('retry-after', '5').send({ title: 'Service Unavailable' })
        return
      }
      done()
    })
    withHealth.addHook('onResponse', (_request, reply, done) => {
      httpMonitor.recordRequest(reply.elapsedTime, reply.statusCode < 500)
      done()
    })
    withHealth.get('/', async () => 'ok')
    await withHealth.ready()

    // under-pressure's sampler, with its exact calls (index.js updateMemoryUsage): it is
    // private to the plugin, so it is reproduced here to time one sample beside ours.
    const histogram = monitorEventLoopDelay({ resolution: 10 })
    histogram.enable()
    let elu = performance.eventLoopUtilization()
    const underPressureSample = () => {
      const mem = process.memoryUsage()
      let eventLoopDelay = Math.max(0, histogram.mean / 1e6 - 10)
      if (Number.isNaN(eventLoopDelay)) eventLoopDelay = Number.POSITIVE_INFINITY
      histogram.reset()
      const current = performance.eventLoopUtilization()
      const utilized = performance.eventLoopUtilization(current, elu).utilization
      elu = current
      return mem.heapUsed + mem.rss + eventLoopDelay + utilized
    }

    let lastTotal = 0
    teardown = async () => {
      monitor.close()
      httpMonitor.close()
      histogram.disable()
      await Promise.all([pressured.close(), bare.close(), withUnderPressure.close(), withHealth.close()])
    }

    // trackRequests with timing off against the code it had before the option: the same
    // monitor and objects for both; 'close' emitted by hand after each call.
    const trackMonitor = createHealthMonitor({ sampleIntervalMs: 3_600_000 })
    const pairs = responses(BATCH)
    const tracked = trackRequests({ monitor: trackMonitor })
    const reference = referenceTrackRequests(trackMonitor)
    const noop = () => {}
    const runTracker = (handler: typeof reference) => {
      const before = trackMonitor.stats().requests.total
      for (let i = 0; i < BATCH; i++) {
        const { req, res } = pairs[i]!
        handler(req, res, noop)
        res.emit('close')
      }
      return trackMonitor.stats().requests.total - before
    }
    const previousTeardown = teardown
    teardown = async () => {
      trackMonitor.close()
      await previousTeardown?.()
    }

    return [
      {
        name: `trackRequests per request, node:http objects (${BATCH} requests a call)`,
        baseline: 'trackRequests before the timing option (reference copy)',
        tasks: {
          '@headroom/health trackRequests, timing off': { fn: () => runTracker(tracked), opsPerCall: BATCH },
          'trackRequests before the timing option (reference copy)': {
            fn: () => runTracker(reference),
            opsPerCall: BATCH,
          },
        },
        check(result, task) {
          if (result !== BATCH) throw new Error(`${task} recorded ${String(result)} of ${BATCH} requests`)
        },
        targets: [{ task: '@headroom/health trackRequests, timing off', atLeast: 0.9 }],
        notes: [
          'The timing-off task is the shipped trackRequests; the reference is its code before the option. Equal within noise is the promise: the option costs nothing when unused.',
        ],
      },
      {
        name: 'per-request cost: record the request + the shedding decision (in process, 1024 requests a call)',
        baseline: '@fastify/under-pressure isUnderPressure()',
        tasks: {
          '@headroom/health recordRequest + shouldShed': {
            fn: () => {
              let admitted = 0
              for (let i = 0; i < BATCH; i++) {
                monitor.recordRequest(durations[i]!, true)
                if (!shedder.shouldShed(priorities[i]!)) admitted++
              }
              return admitted
            },
            opsPerCall: BATCH,
          },
          '@headroom/health shouldShed only': {
            fn: () => {
              let admitted = 0
              for (let i = 0; i < BATCH; i++) if (!shedder.shouldShed(priorities[i]!)) admitted++
              return admitted
            },
            opsPerCall: BATCH,
          },
          '@fastify/under-pressure isUnderPressure()': {
            fn: () => {
              let admitted = 0
              for (let i = 0; i < BATCH; i++) if (!pressured.isUnderPressure()) admitted++
              return admitted
            },
            opsPerCall: BATCH,
          },
        },
        check(result, task) {
          if (result !== BATCH)
            throw new Error(`${task} admitted ${String(result)} of ${BATCH} while healthy`)
          if (task.startsWith('@headroom/health recordRequest')) {
            const total = monitor.stats().requests.total
            if (total < lastTotal + BATCH) throw new Error(`${task} did not record its requests`)
            lastTotal = total
          }
        },
        targets: [{ task: '@headroom/health recordRequest + shouldShed', atLeast: 0.25 }],
        notes: [
          'under-pressure records nothing per request (its onRequest hook only compares cached readings); ours also records duration, outcome and the request into bounded history.',
        ],
      },
      {
        name: 'per-request cost inside fastify (inject GET /, guard as hooks)',
        baseline: 'fastify + @fastify/under-pressure',
        tasks: {
          'fastify + @fastify/under-pressure': () => withUnderPressure.inject({ method: 'GET', url: '/' }),
          'fastify + @headroom/health (shed onRequest, record onResponse)': () =>
            withHealth.inject({ method: 'GET', url: '/' }),
          'fastify, no guard': () => bare.inject({ method: 'GET', url: '/' }),
        },
        check(result, task) {
          const response = result as { statusCode: number; body: string }
          if (response.statusCode !== 200 || response.body !== 'ok')
            throw new Error(`${task} answered ${response.statusCode} ${response.body}`)
        },
        targets: [{ task: 'fastify + @headroom/health (shed onRequest, record onResponse)', atLeast: 0.9 }],
      },
      {
        name: `one process sample (${SAMPLES} samples timed one by one)`,
        baseline: 'under-pressure sampler (same calls, reproduced)',
        tasks: {
          '@headroom/health monitor.sample()': {
            measure: async () => timeSamples(() => monitor.sample(), 20),
          },
          'under-pressure sampler (same calls, reproduced)': {
            measure: async () => timeSamples(underPressureSample),
          },
        },
        notes: [
          'Ours reads CPU, RSS, heap, event-loop delay p99 and utilization, evaluates every threshold and the status, records 11 series and checks memory pressure; under-pressure reads heap, RSS, mean event-loop delay and utilization.',
        ],
      },
    ]
  },
  async teardown() {
    await teardown?.()
  },
})
