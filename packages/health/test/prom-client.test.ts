import { createServer } from 'node:http'
import { createManualClock } from '@headroom/core'
import Fastify from 'fastify'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import * as fastifyAdapter from '../src/fastify.js'
import * as fetchAdapter from '../src/fetch.js'
import * as http from '../src/http.js'
import { createHealthMonitor } from '../src/index.js'
import { registerHealthMetrics } from '../src/prom-client.js'
import { scriptedSampler } from './helpers.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

async function family(registry: Registry, name: string) {
  const metric = (await registry.getMetricsAsJSON()).find((candidate) => candidate.name === name)
  if (!metric) throw new Error(`no metric ${name}`)
  return metric
}
const single = async (registry: Registry, name: string) => (await family(registry, name)).values[0]?.value

describe('registerHealthMetrics', () => {
  it('exports status and event-loop delay (seconds) as gauges, requests as counters', async () => {
    const registry = new Registry()
    const sampler = scriptedSampler()
    const monitor = createHealthMonitor({ clock: createManualClock(Date.now()), sampler, minRequests: 1 })
    cleanups.push(() => monitor.close())
    registerHealthMetrics(registry, monitor)

    sampler.set({ eventLoopDelay: 250 })
    monitor.sample()
    monitor.recordRequest(12, true)
    monitor.recordRequest(30, false)
    monitor.recordRequest(5, true)

    expect((await family(registry, 'headroom_health_event_loop_delay_seconds')).type).toBe('gauge')
    expect(await single(registry, 'headroom_health_event_loop_delay_seconds')).toBe(0.25)
    expect((await family(registry, 'headroom_health_requests_total')).type).toBe('counter')
    expect(await single(registry, 'headroom_health_requests_total')).toBe(3)
    expect(await single(registry, 'headroom_health_request_errors_total')).toBe(1)
    expect((await family(registry, 'headroom_health_status')).type).toBe('gauge')
    expect(await single(registry, 'headroom_health_status')).toBe(
      { healthy: 0, degraded: 1, critical: 2 }[monitor.status],
    )
    expect(await single(registry, 'headroom_health_ready')).toBe(monitor.ready ? 1 : 0)
  })
})

describe('headroom_health_shed_total', () => {
  it('counts the requests the http, Fastify and fetch shedLoad adapters refuse, by reason and priority', async () => {
    const registry = new Registry()
    const monitor = createHealthMonitor({ clock: createManualClock(Date.now()), sampler: scriptedSampler() })
    cleanups.push(() => monitor.close())
    cleanups.push(registerHealthMetrics(registry, monitor))
    // Anything with a status drives shedLoad; here one the test sets.
    const source: { status: 'healthy' | 'degraded' | 'critical' } = { status: 'critical' }
    const shedValue = async (labels: Record<string, string>) =>
      (await family(registry, 'headroom_health_shed_total')).values.find((value) =>
        Object.entries(labels).every(([key, label]) => value.labels[key] === label),
      )?.value

    // Before any shed, the series exist at 0.
    expect((await family(registry, 'headroom_health_shed_total')).type).toBe('counter')
    expect(await shedValue({ reason: 'critical', priority: 'low' })).toBe(0)
    expect(await shedValue({ reason: 'degraded', priority: 'low' })).toBe(0)

    // http (what Express mounts): one low request shed, one critical passed.
    const shedHttp = http.shedLoad({
      monitor: source,
      priority: (req) => (req.url === '/auth' ? 'critical' : 'low'),
    })
    const server = createServer((req, res) => shedHttp(req, res, () => res.end('ok')))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise((resolve) => server.close(resolve)))
    const { port } = server.address() as { port: number }
    expect((await fetch(`http://127.0.0.1:${port}/feed`)).status).toBe(503)
    expect((await fetch(`http://127.0.0.1:${port}/auth`)).status).toBe(200)

    // Fastify: a medium request shed.
    const app = Fastify()
    cleanups.push(() => app.close())
    await app.register(fastifyAdapter.shedLoad, { monitor: source, priority: () => 'medium' })
    app.get('/', async () => 'ok')
    expect((await app.inject({ method: 'GET', url: '/' })).statusCode).toBe(503)

    // fetch: a low request shed while degraded (the default policy sheds low there).
    source.status = 'degraded'
    const shedFetch = fetchAdapter.shedLoad({ monitor: source })
    const refused = await shedFetch(new Request('http://app.test/feed'), async () => new Response('ok'))
    expect(refused?.status).toBe(503)

    expect(await shedValue({ reason: 'critical', priority: 'low' })).toBe(1)
    expect(await shedValue({ reason: 'critical', priority: 'medium' })).toBe(1)
    expect(await shedValue({ reason: 'degraded', priority: 'low' })).toBe(1)
    expect(await shedValue({ reason: 'critical', priority: 'high' })).toBe(0)
  })
})
