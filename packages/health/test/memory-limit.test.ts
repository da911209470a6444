import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createMemoryGauge, readCgroupMemoryLimit, resolveMemoryLimit } from '../src/index.js'
import { createMemoryPressureDetector } from '../src/process/memory-pressure.js'
import type { ProcessReadings } from '../src/process/sampler.js'

const roots: string[] = []
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})
function cgroup(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'cgroup-'))
  roots.push(root)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}

const readings = (rss: number): ProcessReadings => ({
  cpu: 0,
  rss,
  heapUsed: 10,
  heapTotal: 20,
  heapLimit: 4_000_000_000,
  heapUsedRatio: 0.011,
  eventLoopDelay: 0,
  eventLoopDelayMax: 0,
  eventLoopUtilization: 0,
})
const defaults = {
  moderate: 0.8,
  critical: 0.92,
  hysteresis: 0.05,
  moderateFraction: 0.2,
  criticalFraction: 0.5,
  repeatMs: 10_000,
}

describe('the memory limit RSS is measured against', () => {
  it("reads cgroup v2 memory.max, v1 memory.limit_in_bytes, and neither when they say 'no limit'", () => {
    expect(readCgroupMemoryLimit(cgroup({ 'memory.max': '536870912\n' }))).toBe(536_870_912)
    expect(readCgroupMemoryLimit(cgroup({ 'memory.max': 'max\n' }))).toBeUndefined()
    expect(readCgroupMemoryLimit(cgroup({ 'memory/memory.limit_in_bytes': '268435456\n' }))).toBe(268_435_456)
    expect(
      readCgroupMemoryLimit(cgroup({ 'memory/memory.limit_in_bytes': '9223372036854771712\n' })),
    ).toBeUndefined()
    expect(readCgroupMemoryLimit(cgroup({}))).toBeUndefined()
  })

  it('takes the smaller of the container limit and memoryLimitBytes, else total memory', () => {
    const limited = cgroup({ 'memory.max': '1000000' })
    expect(resolveMemoryLimit(undefined, limited)).toEqual({ bytes: 1_000_000, source: 'cgroup' })
    expect(resolveMemoryLimit(500_000, limited)).toEqual({ bytes: 500_000, source: 'configured' })
    expect(resolveMemoryLimit(5_000_000, limited)).toEqual({ bytes: 1_000_000, source: 'cgroup' })
    const unlimited = cgroup({ 'memory.max': 'max' })
    expect(resolveMemoryLimit(700_000, unlimited)).toEqual({ bytes: 700_000, source: 'configured' })
    expect(resolveMemoryLimit(undefined, unlimited)).toEqual({ bytes: totalmem(), source: 'host' })
  })

  it('fires memoryPressure on RSS against the container limit with no option set (heap use is tiny)', () => {
    const detector = createMemoryPressureDetector({
      ...defaults,
      cgroupRoot: cgroup({ 'memory.max': String(600 * 2 ** 20) }),
    })
    expect(detector.update(readings(300 * 2 ** 20), 0)).toBeUndefined()
    const event = detector.update(readings(590 * 2 ** 20), 1000)
    expect(event).toMatchObject({ level: 'critical', heapUsedRatio: 0.011, limit: { source: 'cgroup' } })
    expect(event!.rssRatio).toBeCloseTo(590 / 600)
    expect(event!.ratio).toBeCloseTo(590 / 600)
  })

  it('createMemoryGauge reads this process: RSS over the configured limit', () => {
    const rss = process.memoryUsage.rss()
    const gauge = createMemoryGauge({ memoryLimitBytes: rss * 2 })
    expect(gauge.limit.source).toBe('configured')
    expect(gauge.ratio()).toBeGreaterThan(0.3)
    expect(gauge.ratio()).toBeLessThan(1)
    gauge.close()
    expect(() => createMemoryGauge({ memoryLimitBytes: -1 })).toThrow(/memoryLimitBytes/)
  })
})
