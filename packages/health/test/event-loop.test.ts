import { waitUntil } from '@headroom/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { createHealthMonitor } from '../src/monitor/monitor.js'
import type { HealthMonitor } from '../src/monitor/types.js'
import { createProcessSampler } from '../src/process/sampler.js'

const busy = (ms: number) => {
  const end = performance.now() + ms
  while (performance.now() < end) {
    // Blocks the event loop on purpose.
  }
}

let monitor: HealthMonitor | undefined
afterEach(() => monitor?.close())

describe('real event loop', () => {
  it('a 200 ms busy loop turns the status degraded within one sample interval, and back after the dwell time', async () => {
    const sampleIntervalMs = 100
    monitor = createHealthMonitor({
      sampleIntervalMs,
      enterDwellMs: 0,
      exitDwellMs: 300,
      // Only the event loop decides here: the shared test machine's CPU and heap must not.
      thresholds: { eventLoopUtilization: false, heapUsedRatio: false, errorRate: false },
    })
    const changes: { to: string; at: number; sample: number }[] = []
    monitor.on('change', ({ to }) =>
      changes.push({ to, at: performance.now(), sample: monitor?.stats().samples ?? 0 }),
    )
    await waitUntil(() => (monitor?.stats().samples ?? 0) >= 2, { timeoutMs: 10_000, what: 'two samples' })
    // A busy shared machine may already stall the loop; start from healthy.
    await waitUntil(() => monitor?.status === 'healthy', {
      timeoutMs: 10_000,
      what: 'healthy before the stall',
    })
    changes.length = 0
    busy(200)
    const samplesBefore = monitor.stats().samples
    await waitUntil(() => monitor?.status !== 'healthy', {
      timeoutMs: 5000,
      what: 'degraded after the stall',
    })
    const entered = changes[0]!
    expect(['degraded', 'critical']).toContain(entered.to)
    // The first sample after the stall already sees it: that is "within one sample interval",
    // counted in samples rather than in wall time, which a loaded machine stretches.
    expect(entered.sample).toBe(samplesBefore + 1)
    const reasons = monitor.reasons()
    expect(reasons.some((reason) => reason.name === 'eventLoopDelay' && (reason.value ?? 0) >= 100)).toBe(
      true,
    )
    await waitUntil(() => monitor?.status === 'healthy', { timeoutMs: 10_000, what: 'healthy again' })
    const back = changes.at(-1)!
    expect(back.to).toBe('healthy')
    // The monitor measures the dwell with Date.now, the test with performance.now: 5 ms of slack.
    expect(back.at - entered.at).toBeGreaterThanOrEqual(295)
  })

  it('the process sampler reads plausible values and its probe timer does not hold the process', () => {
    const sampler = createProcessSampler({ eventLoopResolutionMs: 10 })
    busy(20)
    const readings = sampler.read()
    sampler.close()
    expect(readings.rss).toBeGreaterThan(10 * 1024 * 1024)
    expect(readings.heapUsed).toBeGreaterThan(0)
    expect(readings.heapLimit).toBeGreaterThan(readings.heapUsed)
    expect(readings.heapUsedRatio).toBeGreaterThan(0)
    expect(readings.heapUsedRatio).toBeLessThan(1)
    expect(readings.cpu).toBeGreaterThan(0)
    expect(readings.eventLoopUtilization).toBeGreaterThan(0)
    expect(readings.eventLoopUtilization).toBeLessThanOrEqual(1)
    // The busy loop above delayed the probe: the overdue tick is counted when read.
    expect(readings.eventLoopDelayMax).toBeGreaterThan(5)
  })
})
