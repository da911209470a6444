import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createRateLimiter } from '../src/index.js'
import { registerRateLimitMetrics } from '../src/prometheus.js'

async function family(registry: Registry, name: string) {
  const metric = (await registry.getMetricsAsJSON()).find((candidate) => candidate.name === name)
  if (!metric) throw new Error(`no metric ${name}`)
  return metric
}
const sampleValue = async (registry: Registry, name: string, labels: Record<string, string>) =>
  (await family(registry, name)).values.find((value) =>
    Object.entries(labels).every(([key, label]) => value.labels[key] === label),
  )?.value

describe('registerRateLimitMetrics', () => {
  it('counts decisions by result, read from stats() at scrape time', async () => {
    const registry = new Registry()
    const limiter = createRateLimiter({ limit: 3, window: '1m' })
    registerRateLimitMetrics(registry, { api: limiter })
    for (let i = 0; i < 5; i++) await limiter.consume('user-1')

    const decisions = await family(registry, 'headroom_rate_limit_decisions_total')
    expect(decisions.type).toBe('counter')
    expect(
      await sampleValue(registry, 'headroom_rate_limit_decisions_total', {
        limiter: 'api',
        result: 'allowed',
      }),
    ).toBe(3)
    expect(
      await sampleValue(registry, 'headroom_rate_limit_decisions_total', {
        limiter: 'api',
        result: 'limited',
      }),
    ).toBe(2)
    expect((await family(registry, 'headroom_rate_limit_blocked_keys')).type).toBe('gauge')
    expect(await sampleValue(registry, 'headroom_rate_limit_store_state', { limiter: 'api' })).toBe(-1)

    await limiter.consume('user-2')
    expect(
      await sampleValue(registry, 'headroom_rate_limit_decisions_total', {
        limiter: 'api',
        result: 'allowed',
      }),
    ).toBe(4)
    await limiter.close()
  })

  it('removes its metrics when unregistered', async () => {
    const registry = new Registry()
    const unregister = registerRateLimitMetrics(registry, {
      api: createRateLimiter({ limit: 1, window: '1s' }),
    })
    expect(registry.getMetricsAsArray().length).toBeGreaterThan(0)
    unregister()
    expect(registry.getMetricsAsArray()).toEqual([])
  })
})
