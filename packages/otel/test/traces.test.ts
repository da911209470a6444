import diagnosticsChannel from 'node:diagnostics_channel'
import { createBreaker } from '@headroom/breaker'
import { createCache } from '@headroom/cache'
import { createConcurrencyLimiter } from '@headroom/pool'
import { createQueue, createWorker } from '@headroom/queue'
import { createRateLimiter } from '@headroom/rate-limit'
import { createShardRouter } from '@headroom/shard'
import { waitUntil } from '@headroom/testing'
import { context, ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { afterEach, describe, expect, it } from 'vitest'
import { instrumentHeadroom, instrumentHeadroomTraces } from '../src/index.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function setup(options: { recordKeys?: boolean } = {}) {
  const contextManager = new AsyncLocalStorageContextManager().enable()
  context.setGlobalContextManager(contextManager)
  const exporter = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const stop = instrumentHeadroomTraces({ tracerProvider, ...options })
  cleanups.push(
    () => context.disable(),
    () => tracerProvider.shutdown(),
    stop,
  )
  const spans = (name: string): ReadableSpan[] =>
    exporter.getFinishedSpans().filter((span) => span.name === name)
  return { tracer: tracerProvider.getTracer('app'), spans, stop }
}

describe('instrumentHeadroomTraces', () => {
  it('nests a cache load under the request span active when it started, with the tier that answered', async () => {
    const { tracer, spans } = setup()
    const cache = createCache({ prefix: 'otel-trace' })
    cleanups.push(() => cache.close())

    const request = tracer.startSpan('GET /users/1')
    await context.with(trace.setSpan(ROOT_CONTEXT, request), async () => {
      expect(await cache.getOrSet('user:1', async () => 'ada')).toBe('ada')
      expect(await cache.getOrSet('user:1', async () => 'never')).toBe('ada')
    })
    request.end()

    const loads = spans('headroom.cache.getOrSet')
    expect(loads.map((span) => span.attributes['headroom.cache.tier'])).toEqual(['miss', 'l1'])
    for (const load of loads) {
      expect(load.spanContext().traceId).toBe(request.spanContext().traceId)
      expect(load.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
      expect(load.attributes['headroom.cache.name']).toBe('otel-trace')
      // Keys are not recorded unless asked for.
      expect(load.attributes['headroom.cache.key']).toBeUndefined()
      expect(load.status.code).toBe(SpanStatusCode.UNSET)
    }
    // Outside any span, a span is a root.
    await cache.getOrSet('user:2', async () => 'grace')
    expect(spans('headroom.cache.getOrSet')[2]?.parentSpanContext).toBeUndefined()
  })

  it('marks a failing call ERROR with the exception: a factory that throws, a breaker that rejects', async () => {
    const { spans } = setup({ recordKeys: true })
    const cache = createCache({ prefix: 'otel-trace-fail' })
    cleanups.push(() => cache.close())
    const failure = await cache
      .getOrSet('user:9', async () => {
        throw new Error('db down')
      })
      .catch((error: Error) => error)
    expect(failure).toBeInstanceOf(Error)
    const [load] = spans('headroom.cache.getOrSet')
    expect(load?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'db down' })
    expect(load?.events.find((event) => event.name === 'exception')?.attributes?.['exception.message']).toBe(
      'db down',
    )
    expect(load?.attributes['headroom.cache.key']).toBe('user:9')

    const breaker = createBreaker(
      async () => {
        throw new Error('astro down')
      },
      { name: 'astro', volumeThreshold: 2 },
    )
    cleanups.push(() => breaker.close())
    for (let i = 0; i < 4; i++) await breaker.fire().catch(() => {})
    const fired = spans('headroom.breaker.fire')
    expect(fired).toHaveLength(4)
    expect(fired[0]?.attributes).toMatchObject({
      'headroom.breaker.name': 'astro',
      'headroom.breaker.state': 'closed',
      'headroom.breaker.outcome': 'failure',
    })
    expect(fired.at(-1)?.attributes).toMatchObject({
      'headroom.breaker.state': 'open',
      'headroom.breaker.outcome': 'rejected',
    })
    for (const span of fired) expect(span.status.code).toBe(SpanStatusCode.ERROR)
  })

  it('traces rate-limit decisions, pool runs with their wait, shard runs with their target and job handlers', async () => {
    const { spans } = setup()
    const limiter = createRateLimiter({ prefix: 'otel-rl', limit: 1, window: '1m' })
    cleanups.push(() => limiter.close())
    await limiter.consume('user-1')
    await limiter.consume('user-1')
    expect(spans('headroom.rate_limit.consume').map((span) => span.attributes)).toEqual([
      expect.objectContaining({
        'headroom.rate_limit.limiter': 'otel-rl',
        'headroom.rate_limit.store': 'memory',
        'headroom.rate_limit.allowed': true,
      }),
      expect.objectContaining({ 'headroom.rate_limit.allowed': false }),
    ])
    // A refusal is a decision, not a failure.
    expect(spans('headroom.rate_limit.consume')[1]?.status.code).toBe(SpanStatusCode.UNSET)

    const pool = createConcurrencyLimiter({ name: 'db', min: 1, max: 1, initial: 1, probe: false })
    cleanups.push(() => pool.close())
    let release!: () => void
    const held = pool.run(() => new Promise<void>((resolve) => (release = resolve)))
    const queued = pool.run(async () => 'second')
    await new Promise((resolve) => setTimeout(resolve, 20))
    release()
    await Promise.all([held, queued])
    const runs = spans('headroom.pool.run')
    expect(runs.map((span) => span.attributes['headroom.pool.limiter'])).toEqual(['db', 'db'])
    expect(runs[1]?.attributes['headroom.pool.wait_ms']).toBeGreaterThan(
      runs[0]!.attributes['headroom.pool.wait_ms'] as number,
    )

    const router = createShardRouter({ shards: [{ id: 'a', primary: 'db-a', replicas: ['db-a-r'] }] })
    await router.run('user-1', (target) => target, { write: true })
    await router.run('user-2', (target) => target)
    expect(spans('headroom.shard.run').map((span) => span.attributes)).toEqual([
      { 'headroom.shard.write': true, 'headroom.shard.id': 'a', 'headroom.shard.role': 'primary' },
      { 'headroom.shard.write': false, 'headroom.shard.id': 'a', 'headroom.shard.role': 'replica' },
    ])

    const queue = createQueue({ name: 'otel-emails' })
    cleanups.push(() => queue.close())
    const id = await queue.add('welcome', {})
    const worker = createWorker(queue, { welcome: () => 'sent' })
    cleanups.push(() => worker.close())
    await waitUntil(() => spans('headroom.queue.process').length === 1, { what: 'the job span' })
    expect(spans('headroom.queue.process')[0]?.attributes).toEqual({
      'headroom.queue.name': 'otel-emails',
      'headroom.queue.job.id': id,
      'headroom.queue.job.name': 'welcome',
      'headroom.queue.job.attempt': 1,
    })
  })

  it('stops: no spans after the returned function ran, and the channels are idle again', async () => {
    const { spans, stop } = setup()
    const limiter = createRateLimiter({ limit: 10, window: '1m' })
    cleanups.push(() => limiter.close())
    await limiter.consume('a')
    stop()
    await limiter.consume('a')
    expect(spans('headroom.rate_limit.consume')).toHaveLength(1)
    expect(diagnosticsChannel.channel('tracing:headroom:rate-limit:consume:start').hasSubscribers).toBe(false)
  })

  it('instrumentHeadroom turns on spans and metrics together', async () => {
    const contextManager = new AsyncLocalStorageContextManager().enable()
    context.setGlobalContextManager(contextManager)
    const exporter = new InMemorySpanExporter()
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
    const stop = instrumentHeadroom({ tracerProvider })
    cleanups.push(
      () => context.disable(),
      () => tracerProvider.shutdown(),
    )
    expect(diagnosticsChannel.channel('headroom:rate-limit:decision').hasSubscribers).toBe(true)
    const limiter = createRateLimiter({ limit: 10, window: '1m' })
    cleanups.push(() => limiter.close())
    await limiter.consume('a')
    stop()
    expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual(['headroom.rate_limit.consume'])
    expect(diagnosticsChannel.channel('headroom:rate-limit:decision').hasSubscribers).toBe(false)
  })
})
