import { createBreaker } from '@headroom/breaker'
import { createConcurrencyLimiter } from '@headroom/pool'
import { createQueue, createWorker } from '@headroom/queue'
import { createRateLimiter } from '@headroom/rate-limit'
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import { afterEach, describe, expect, it } from 'vitest'
import { instrumentHeadroomMetrics } from '../src/index.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function setup() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })
  const meterProvider = new MeterProvider({ readers: [reader] })
  const stop = instrumentHeadroomMetrics({ meterProvider })
  cleanups.push(stop, () => meterProvider.shutdown())
  /** Points of one metric after a flush: value (sum, gauge) or histogram count, with attributes. */
  const points = async (name: string) => {
    await reader.forceFlush()
    const all = exporter
      .getMetrics()
      .flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics))
    const metric = all.filter((candidate) => candidate.descriptor.name === name).at(-1)
    return (metric?.dataPoints ?? []).map((point) => ({
      attributes: point.attributes,
      value: typeof point.value === 'number' ? point.value : (point.value as { count: number }).count,
    }))
  }
  return { points }
}

describe('instrumentHeadroomMetrics', () => {
  it('counts rate-limit decisions by result from the decision channel', async () => {
    const { points } = setup()
    const limiter = createRateLimiter({ limit: 2, window: '1m' })
    cleanups.push(() => limiter.close())
    for (let i = 0; i < 3; i++) await limiter.consume('user-1')
    const decisions = await points('headroom.rate_limit.decisions')
    const total = (result: string) =>
      decisions
        .filter((point) => point.attributes.result === result)
        .reduce((sum, point) => sum + point.value, 0)
    expect(total('allowed')).toBe(2)
    expect(total('limited')).toBe(1)
  })

  it('records breaker transitions and rejections, and job run time as a histogram', async () => {
    const { points } = setup()
    const breaker = createBreaker(
      async () => {
        throw new Error('down')
      },
      { name: 'astro', volumeThreshold: 2 },
    )
    cleanups.push(() => breaker.close())
    for (let i = 0; i < 4; i++) await breaker.fire().catch(() => {})
    expect(await points('headroom.breaker.transitions')).toContainEqual({
      attributes: { breaker: 'astro', state: 'open' },
      value: 1,
    })
    const rejected = await points('headroom.breaker.rejected')
    expect(rejected[0]?.value).toBeGreaterThan(0)

    const queue = createQueue({ name: 'emails' })
    cleanups.push(() => queue.close())
    await queue.add('welcome', {})
    await queue.add('welcome', {})
    const worker = createWorker(queue, { welcome: () => 'sent' })
    const deadline = Date.now() + 10_000
    while ((await queue.stats()).processed < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20))
    await worker.close()
    expect(await points('headroom.queue.job.duration')).toEqual([
      { attributes: { queue: 'emails', job: 'welcome' }, value: 2 },
    ])
  })

  it('records pool rejections by limiter and reason', async () => {
    const { points } = setup()
    const limiter = createConcurrencyLimiter({
      name: 'db',
      min: 1,
      max: 1,
      initial: 1,
      probe: false,
      maxQueue: 0,
    })
    cleanups.push(() => limiter.close())
    let release!: () => void
    const running = limiter.run(() => new Promise<void>((resolve) => (release = resolve)))
    await limiter.run(async () => 'refused').catch(() => {})
    release()
    await running
    expect(await points('headroom.pool.rejected')).toEqual([
      { attributes: { limiter: 'db', reason: 'queue-full' }, value: 1 },
    ])
  })
})
