import { createManualClock } from '@headroom/core'
import { waitUntil } from '@headroom/testing'
import { afterEach, describe, expect, it } from 'vitest'
import type { HealthJson } from '../src/http/health-json.js'
import type { RequestTimingOptions, SlowRequestReport } from '../src/http/request-timing.js'
import { createHealthMonitor } from '../src/monitor/monitor.js'
import { scriptedSampler } from './helpers.js'
import { type HealthServerFactory, slowArrived } from './http-servers.js'

/**
 * What every health adapter promises, whatever the framework: /livez, /readyz (critical
 * checks and draining only), /health in application/health+json (a failing dependency is
 * warn), never cached, HEAD without a body; shedding by priority with 503 + Retry-After.
 */
export function describeHealthContract(server: HealthServerFactory) {
  describe(`health adapters contract on ${server.name}`, () => {
    const cleanups: Array<() => unknown> = []
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0)) await cleanup()
    })

    async function setup(
      checks: Parameters<typeof createHealthMonitor>[0] extends infer O
        ? O extends { checks?: infer C }
          ? C
          : never
        : never = {},
      timing?: RequestTimingOptions,
    ) {
      const clock = createManualClock(Date.now())
      const sampler = scriptedSampler()
      const monitor = createHealthMonitor({
        clock,
        sampler,
        enterDwellMs: 0,
        exitDwellMs: 0,
        minRequests: 1,
        service: 'astro',
        checks,
      })
      cleanups.push(() => monitor.close())
      const { base, stats } = await server.serve({
        monitor,
        info: { version: '1.2.3' },
        shed: { monitor, retryAfterSeconds: 7 },
        timing,
      })
      const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
        fetch(`${base}${path}`, { headers, method })
      return { clock, sampler, monitor, stats, get, base }
    }

    it('/livez, /readyz and /health (application/health+json), never cached; HEAD has no body', async () => {
      const { monitor, get } = await setup({ db: () => true })
      await monitor.runChecks()
      const live = await get('/livez')
      expect(live.status).toBe(200)
      expect(live.headers.get('content-type')).toBe('application/json; charset=utf-8')
      expect(live.headers.get('cache-control')).toBe('no-store')
      expect(await live.json()).toEqual({ status: 'pass' })
      expect((await get('/livez?verbose=1')).status).toBe(200)
      expect((await get('/readyz')).status).toBe(200)
      const report = await get('/health')
      expect(report.status).toBe(200)
      expect(report.headers.get('content-type')).toBe('application/health+json; charset=utf-8')
      expect(report.headers.get('cache-control')).toBe('no-store')
      const body = (await report.json()) as HealthJson
      expect(body).toMatchObject({ status: 'pass', serviceId: 'astro', version: '1.2.3' })
      expect(body.checks['db:responseTime']?.[0]).toMatchObject({ componentId: 'db', status: 'pass' })
      // The process' uptime in seconds, as the draft's own example of a system check.
      const uptime = body.checks.uptime?.[0]
      expect(uptime).toMatchObject({ componentType: 'system', observedUnit: 's', status: 'pass' })
      expect(uptime!.observedValue).toBeGreaterThan(0)
      expect(uptime!.observedValue).toBeLessThanOrEqual(process.uptime())
      const head = await get('/health', {}, 'HEAD')
      expect(head.status).toBe(200)
      expect(await head.text()).toBe('')
      const plain = await get('/x')
      expect(await plain.text()).toBe('ok')
      // Timing is off unless asked for.
      expect(plain.headers.get('server-timing')).toBeNull()
    })

    it('timing: Server-Timing carries the total and the phases the app marks; requests over slowMs are reported with route and breakdown', async () => {
      const reports: SlowRequestReport[] = []
      const { monitor, get } = await setup({}, { slowMs: 25, onSlow: (report) => reports.push(report) })
      const marked = await get('/marked')
      expect(await marked.text()).toBe('ok')
      const header = marked.headers.get('server-timing') ?? ''
      const match = /^total;dur=(\d+\.\d), db;dur=(\d+\.\d)$/.exec(header)
      expect(match, header).not.toBeNull()
      expect(Number(match![2])).toBeGreaterThanOrEqual(25)
      expect(Number(match![1])).toBeGreaterThanOrEqual(Number(match![2]))
      const fast = await get('/x')
      expect(fast.headers.get('server-timing')).toMatch(/^total;dur=\d+\.\d$/)
      await fast.text()
      await waitUntil(() => monitor.stats().requests.total === 2, { what: 'both requests recorded' })
      const slow = reports.filter((report) => report.route === '/marked')
      expect(slow).toHaveLength(1)
      expect(slow[0]).toMatchObject({ method: 'GET', route: '/marked', status: 200 })
      expect(slow[0]!.phases.db).toBeGreaterThanOrEqual(25)
      expect(slow[0]!.totalMs).toBeGreaterThanOrEqual(slow[0]!.phases.db!)
      // Whatever else was reported on a loaded machine, only what crossed the threshold.
      for (const report of reports) expect(report.totalMs).toBeGreaterThanOrEqual(25)
    })

    it('timing: a slow-request report with nowhere to go is refused, naming the option', async () => {
      const monitor = createHealthMonitor({ clock: createManualClock(0), sampler: scriptedSampler() })
      cleanups.push(() => monitor.close())
      await expect(server.serve({ monitor, shed: { monitor }, timing: { slowMs: 100 } })).rejects.toThrow(
        /"timing.slowMs": .*pass timing.logger or timing.onSlow/,
      )
    })

    it('readiness fails on a critical check and on draining only; a failing dependency is warn in /health', async () => {
      let cacheUp = false
      const { monitor, get } = await setup({
        primary: { check: () => true, critical: true },
        cache: () => {
          if (!cacheUp) throw new Error('connection refused')
        },
      })
      await monitor.runChecks()
      expect((await get('/readyz')).status).toBe(200)
      const report = (await (await get('/health')).json()) as HealthJson
      expect(report.status).toBe('warn')
      expect(report.checks['cache:responseTime']?.[0]).toMatchObject({ status: 'warn' })
      cacheUp = true
      monitor.setDraining(true)
      const draining = await get('/readyz')
      expect(draining.status).toBe(503)
      expect(await draining.json()).toEqual({ status: 'fail', output: 'draining' })
    })

    it('a critical check failing fails /readyz with its name', async () => {
      const { monitor, get } = await setup({
        primary: {
          check: () => {
            throw new Error('primary down')
          },
          critical: true,
        },
      })
      await monitor.runChecks()
      const ready = await get('/readyz')
      expect(ready.status).toBe(503)
      expect(((await ready.json()) as { output: string }).output).toMatch(/^primary: .*primary down/)
    })

    it('sheds low priority first with 503, Retry-After and problem+json; critical always passes', async () => {
      const { clock, sampler, monitor, stats, get } = await setup()
      expect((await get('/x')).status).toBe(200)
      sampler.set({ eventLoopDelay: 150 })
      clock.advance(1000)
      expect(monitor.status).toBe('degraded')
      const low = await get('/x')
      expect(low.status).toBe(503)
      expect(low.headers.get('retry-after')).toBe('7')
      expect(low.headers.get('content-type')).toBe('application/problem+json; charset=utf-8')
      expect(await low.json()).toMatchObject({
        status: 503,
        title: 'Service Unavailable',
        detail: expect.stringMatching(/degraded.*low-priority/),
      })
      expect((await get('/x', { 'x-tier': 'premium' })).status).toBe(200)
      sampler.set({ eventLoopDelay: 900 })
      clock.advance(1000)
      expect(monitor.status).toBe('critical')
      expect((await get('/x', { 'x-tier': 'critical' })).status).toBe(200)
      // The probes answer under any load.
      expect((await get('/livez')).status).toBe(200)
      expect(stats()).toEqual({ passed: 3, shed: { critical: 0, high: 0, medium: 0, low: 1 } })
    })

    it('trackRequests records each request with its duration, outcome and labels; shed responses are left out, dependency refusals are their own outcome', async () => {
      const { clock, sampler, monitor, get } = await setup()
      await (await get('/x')).text()
      await (await get('/boom')).text()
      await (await get('/dep')).text()
      // The probes are the orchestrator's traffic, not the service's: not recorded.
      await (await get('/livez')).text()
      await waitUntil(() => monitor.stats().requests.total === 3, { what: 'three requests recorded' })
      expect(monitor.stats().requests).toMatchObject({ total: 3, errors: 1, dependencyFailures: 1 })
      const points = monitor.getMetrics('request')
      expect(points.map((point) => [point.labels?.route, point.ok])).toEqual([
        ['/x', true],
        ['/boom', false],
        ['/dep', false],
      ])
      for (const point of points) expect(point.value).toBeGreaterThanOrEqual(0)
      sampler.set({ eventLoopDelay: 900 })
      clock.advance(1000)
      for (let i = 0; i < 3; i++) expect((await get('/x')).status).toBe(503)
      await (await get('/x', { 'x-tier': 'critical' })).text()
      await waitUntil(() => monitor.stats().requests.total === 4, { what: 'the critical request recorded' })
      // The critical request went out after the refusals were answered, so a refusal
      // recorded by mistake would already be counted; one more turn of the loop for good measure.
      await new Promise((resolve) => setImmediate(resolve))
      expect(monitor.stats().requests.total).toBe(4)
    })

    it('trackRequests counts a client that goes away before the response as a failure', async () => {
      const { monitor, base } = await setup()
      const controller = new AbortController()
      const arrivedBefore = slowArrived()
      const request = fetch(`${base}/slow`, { signal: controller.signal }).catch(() => 'aborted')
      await waitUntil(() => slowArrived() > arrivedBefore, {
        timeoutMs: 10_000,
        what: 'the request at the app',
      })
      controller.abort()
      expect(await request).toBe('aborted')
      await waitUntil(() => monitor.stats().requests.total === 1, {
        timeoutMs: 5000,
        what: 'the aborted request recorded',
      })
      expect(monitor.getMetrics('request')[0]).toMatchObject({ ok: false, labels: { route: '/slow' } })
    })

    it('rejects invalid shedding options with a clear error', async () => {
      const monitor = createHealthMonitor({ clock: createManualClock(0), sampler: scriptedSampler() })
      cleanups.push(() => monitor.close())
      await expect(server.serve({ monitor, shed: { monitor, retryAfterSeconds: -1 } })).rejects.toThrow(
        /retryAfterSeconds/,
      )
      await expect(
        server.serve({ monitor, shed: { monitor, critical: ['critical' as never] } }),
      ).rejects.toThrow(/never shed/)
    })
  })
}
