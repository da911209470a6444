import { createManualClock } from '@headroom/core'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
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
