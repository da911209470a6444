import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createAdaptiveLimiter } from '../src/index.js'
import { registerPoolMetrics } from '../src/prometheus.js'

async function family(registry: Registry, name: string) {
  const metric = (await registry.getMetricsAsJSON()).find((candidate) => candidate.name === name)
  if (!metric) throw new Error(`no metric ${name}`)
  return metric
}
const sampleValue = async (registry: Registry, name: string, labels: Record<string, string>) =>
  (await family(registry, name)).values.find((value) =>
    Object.entries(labels).every(([key, label]) => value.labels[key] === label),
  )?.value

describe('registerPoolMetrics', () => {
  it('exports the limit and in-flight calls as gauges, admitted and rejected calls as counters', async () => {
    const registry = new Registry()
    const limiter = createAdaptiveLimiter({ min: 2, max: 2, initial: 2, probe: false, maxQueue: 0 })
    registerPoolMetrics(registry, { limiters: { db: limiter } })

    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const running = [limiter.run(() => held), limiter.run(() => held)]
    const refused = await limiter.run(async () => 'never').catch((error: Error) => error)
    expect(refused).toBeInstanceOf(Error)

    expect((await family(registry, 'headroom_pool_limit')).type).toBe('gauge')
    expect(await sampleValue(registry, 'headroom_pool_limit', { limiter: 'db' })).toBe(2)
    expect(await sampleValue(registry, 'headroom_pool_inflight', { limiter: 'db' })).toBe(2)
    expect((await family(registry, 'headroom_pool_admitted_total')).type).toBe('counter')
    expect(await sampleValue(registry, 'headroom_pool_admitted_total', { limiter: 'db' })).toBe(2)
    expect(
      await sampleValue(registry, 'headroom_pool_rejected_total', { limiter: 'db', reason: 'queue-full' }),
    ).toBe(1)

    release()
    await Promise.all(running)
    expect(await sampleValue(registry, 'headroom_pool_inflight', { limiter: 'db' })).toBe(0)
    expect(
      await sampleValue(registry, 'headroom_pool_completed_total', { limiter: 'db', outcome: 'success' }),
    ).toBe(2)
    await limiter.close()
  })
})
