import type { IncomingMessage, ServerResponse } from 'node:http'
import { createManualClock } from '@headroom/core'
import { waitUntil } from '@headroom/testing'
import { afterEach, describe, expect, it } from 'vitest'
import type { HealthJson } from '../src/http/health-json.js'
import { health, healthRoutes } from '../src/http/probes.js'
import { shedLoad } from '../src/http/shed-load.js'
import { trackRequests } from '../src/http/track-requests.js'
import { createHealthMonitor } from '../src/monitor/monitor.js'
import type { HealthMonitor } from '../src/monitor/types.js'
import { listen, type ScriptedSampler, scriptedSampler } from './helpers.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

type Middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void

/** A tiny connect-style chain, so the tests exercise the handlers the way Express calls them. */
function chain(...middleware: Middleware[]) {
  return (req: IncomingMessage, res: ServerResponse) => {
    let index = 0
    const next = () => {
      const handler = middleware[index++]
      if (handler) handler(req, res, next)
    }
    next()
  }
}

const app: Middleware = (req, res) => {
  if (req.url === '/boom') {
    res.statusCode = 500
    return res.end('boom')
  }
  res.setHeader('content-type', 'text/plain')
  res.end('ok')
}

async function setup(options: { checks?: Record<string, () => unknown> } = {}) {
  const clock = createManualClock(Date.now())
  const sampler = scriptedSampler()
  const monitor = createHealthMonitor({
    clock,
    sampler,
    enterDwellMs: 0,
    exitDwellMs: 0,
    minRequests: 1,
    service: 'astro',
    ...options,
  })
  cleanups.push(() => monitor.close())
  const shed = shedLoad({
    monitor,
    priority: (req) => {
      const tier = req.headers['x-tier']
      return tier === 'critical' ? 'critical' : tier === 'premium' ? 'high' : 'low'
    },
    retryAfterSeconds: 7,
  })
  const server = await listen(
    chain(
      healthRoutes(monitor, { version: '1.2.3' }) as Middleware,
      trackRequests({ monitor }) as Middleware,
      shed as Middleware,
      app,
    ),
  )
  cleanups.push(() => server.close())
  const get = (path: string, tier?: string) =>
    fetch(`${server.url}${path}`, { headers: tier ? { 'x-tier': tier } : {} })
  return { clock, sampler, monitor, shed, server, get }
}

function critical(
  sampler: ScriptedSampler,
  clock: ReturnType<typeof createManualClock>,
  monitor: HealthMonitor,
) {
  sampler.set({ eventLoopDelay: 900 })
  clock.advance(1000)
  expect(monitor.status).toBe('critical')
}

describe('shedLoad over real HTTP', () => {
  it('under critical, low priority gets 503 with Retry-After; high and critical pass', async () => {
    const { clock, sampler, monitor, shed, get } = await setup()
    expect((await get('/x')).status).toBe(200)
    critical(sampler, clock, monitor)
    const low = await get('/x')
    expect(low.status).toBe(503)
    expect(low.headers.get('retry-after')).toBe('7')
    expect(low.headers.get('content-type')).toBe('application/problem+json; charset=utf-8')
    expect(await low.json()).toMatchObject({
      status: 503,
      title: 'Service Unavailable',
      detail: expect.stringMatching(/critical.*low-priority/),
    })
    expect((await get('/x', 'premium')).status).toBe(200)
    const vip = await get('/x', 'critical')
    expect(vip.status).toBe(200)
    expect(await vip.text()).toBe('ok')
    expect(shed.stats()).toEqual({ passed: 3, shed: { critical: 0, high: 0, medium: 0, low: 1 } })
  })

  it('under degraded only low priority is refused', async () => {
    const { clock, sampler, monitor, get } = await setup()
    sampler.set({ eventLoopDelay: 150 })
    clock.advance(1000)
    expect(monitor.status).toBe('degraded')
    expect((await get('/x')).status).toBe(503)
    expect((await get('/x', 'premium')).status).toBe(200)
    sampler.set({ eventLoopDelay: 1 })
    clock.advance(1000)
    expect((await get('/x')).status).toBe(200)
  })

  it('records requests and outcomes, but never the responses it shed', async () => {
    const { clock, sampler, monitor, get } = await setup()
    await (await get('/x')).text()
    await (await get('/boom')).text()
    critical(sampler, clock, monitor)
    for (let i = 0; i < 5; i++) await (await get('/x')).text()
    // A response closes on the server before its body reaches the client of the same
    // process: a refusal recorded by mistake would be counted by now.
    await new Promise((resolve) => setImmediate(resolve))
    expect(monitor.stats().requests).toMatchObject({ total: 2, errors: 1 })
    expect(monitor.getMetrics('request').map((point) => point.ok)).toEqual([true, false])
  })

  it('a client that goes away before the response counts as a failure', async () => {
    const monitor = createHealthMonitor({ clock: createManualClock(0), sampler: scriptedSampler() })
    cleanups.push(() => monitor.close())
    const track = trackRequests({ monitor, labels: (req) => ({ route: req.url ?? '' }) })
    let arrived!: () => void
    const requestArrived = new Promise<void>((resolve) => {
      arrived = resolve
    })
    const server = await listen((req, res) =>
      track(req, res, () => {
        // Never answers: the client gives up first.
        arrived()
      }),
    )
    cleanups.push(() => server.close())
    const controller = new AbortController()
    const request = fetch(`${server.url}/slow`, { signal: controller.signal }).catch(() => 'aborted')
    await requestArrived
    controller.abort()
    expect(await request).toBe('aborted')
    await waitUntil(() => monitor.stats().requests.total === 1, {
      timeoutMs: 5000,
      what: 'the aborted request',
    })
    expect(monitor.getMetrics('request')[0]).toMatchObject({ ok: false, labels: { route: '/slow' } })
  })

  it('rejects invalid options with a clear error', () => {
    const monitor = { status: 'healthy' as const }
    expect(() => shedLoad({ monitor, critical: ['critical'] })).toThrow(
      /"critical": critical work is never shed/,
    )
    expect(() => shedLoad({ monitor, retryAfterSeconds: -1 })).toThrow(/retryAfterSeconds/)
  })
})

describe('probes', () => {
  it('livez, readyz and /health in application/health+json', async () => {
    const { clock, sampler, monitor, get } = await setup({ checks: { db: () => true } })
    await monitor.runChecks()
    clock.advance(1000)
    const live = await get('/livez')
    expect(live.status).toBe(200)
    expect(live.headers.get('cache-control')).toBe('no-store')
    expect((await get('/readyz')).status).toBe(200)
    const ok = await get('/health')
    expect(ok.status).toBe(200)
    expect(ok.headers.get('content-type')).toBe('application/health+json; charset=utf-8')
    const body = (await ok.json()) as HealthJson
    expect(body).toMatchObject({ status: 'pass', serviceId: 'astro', version: '1.2.3' })
    expect(body.checks['db:responseTime']?.[0]).toMatchObject({
      componentId: 'db',
      status: 'pass',
      observedUnit: 'ms',
    })
    expect(body.checks['eventloop:delay']?.[0]).toMatchObject({ status: 'pass', observedUnit: 'ms' })

    sampler.set({ eventLoopDelay: 150 })
    clock.advance(1000)
    const warn = (await (await get('/health')).json()) as HealthJson
    expect(warn.status).toBe('warn')
    expect(warn.checks['eventloop:delay']?.[0]).toMatchObject({ status: 'warn', observedValue: 150 })

    monitor.reportInput('astro-breaker', 'critical', 'circuit open')
    const fail = await get('/health')
    expect(fail.status).toBe(503)
    const failBody = (await fail.json()) as HealthJson
    expect(failBody.status).toBe('fail')
    expect(failBody.checks['astro-breaker:status']?.[0]).toMatchObject({
      status: 'fail',
      output: 'circuit open',
    })
    // Readiness ignores load: pulling a busy instance out of rotation only moves the overload.
    expect((await get('/readyz')).status).toBe(200)
    monitor.setDraining(true)
    const draining = await get('/readyz')
    expect(draining.status).toBe(503)
    expect(await draining.json()).toEqual({ status: 'fail', output: 'draining' })
  })

  it('HEAD has no body, other paths fall through, and a bare router answers 404', async () => {
    const { get, server } = await setup()
    const head = await fetch(`${server.url}/livez`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
    expect((await get('/livez?verbose=1')).status).toBe(200)
    expect(await (await get('/other')).text()).toBe('ok')
    const monitor = createHealthMonitor({ clock: createManualClock(0), sampler: scriptedSampler() })
    cleanups.push(() => monitor.close())
    const bare = await listen(healthRoutes(monitor))
    cleanups.push(() => bare.close())
    expect((await fetch(`${bare.url}/nope`)).status).toBe(404)
    const only = await listen(health(monitor))
    cleanups.push(() => only.close())
    expect(((await (await fetch(only.url)).json()) as HealthJson).status).toBe('pass')
  })
})

describe('createLoadShedder', () => {
  it('sheds the lowest priorities first and never critical work', async () => {
    const { createLoadShedder } = await import('../src/shedding/load-shedder.js')
    const source = { status: 'healthy' as 'healthy' | 'degraded' | 'critical' }
    const shedder = createLoadShedder(source)
    const shed = () => (['critical', 'high', 'medium', 'low'] as const).filter((p) => shedder.shouldShed(p))
    expect(shed()).toEqual([])
    source.status = 'degraded'
    expect(shed()).toEqual(['low'])
    source.status = 'critical'
    expect(shed()).toEqual(['medium', 'low'])
    const custom = createLoadShedder(source, { critical: ['low', 'medium', 'high'] })
    expect(custom.shouldShed('high')).toBe(true)
    expect(custom.shouldShed('critical')).toBe(false)
    expect(custom.shouldShed('unknown' as never)).toBe(true)
    expect(() => createLoadShedder(source, { critical: ['critical'] as never })).toThrow(/never shed/)
    expect(() => createLoadShedder(source, { degraded: ['low', 'medium'], critical: ['low'] })).toThrow(
      /"critical".*never sheds less/,
    )
  })
})
