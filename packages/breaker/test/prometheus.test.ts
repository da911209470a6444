import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { type Breaker, createBreaker } from '../src/index.js'
import { registerBreakerMetrics } from '../src/prometheus.js'

const breakers: Breaker<[boolean], string>[] = []
afterEach(async () => {
  await Promise.all(breakers.splice(0).map((breaker) => breaker.close()))
})

async function family(registry: Registry, name: string) {
  const metric = (await registry.getMetricsAsJSON()).find((candidate) => candidate.name === name)
  if (!metric) throw new Error(`no metric ${name}`)
  return metric
}
const sampleValue = async (registry: Registry, name: string, labels: Record<string, string>) =>
  (await family(registry, name)).values.find((value) =>
    Object.entries(labels).every(([key, label]) => value.labels[key] === label),
  )?.value

describe('registerBreakerMetrics', () => {
  it('exports the state as 0/1/2 and calls by result as counters', async () => {
    const registry = new Registry()
    const breaker = createBreaker(
      async (fail: boolean) => {
        if (fail) throw new Error('down')
        return 'ok'
      },
      { name: 'astro', volumeThreshold: 2, errorThresholdPercentage: 50 },
    )
    breakers.push(breaker)
    registerBreakerMetrics(registry, { astro: breaker })

    await breaker.fire(false)
    expect((await family(registry, 'headroom_breaker_state')).type).toBe('gauge')
    expect(await sampleValue(registry, 'headroom_breaker_state', { breaker: 'astro' })).toBe(0)

    for (let i = 0; i < 3; i++) await breaker.fire(true).catch(() => {})
    expect(breaker.state).toBe('open')
    expect(await sampleValue(registry, 'headroom_breaker_state', { breaker: 'astro' })).toBe(2)
    expect((await family(registry, 'headroom_breaker_calls_total')).type).toBe('counter')
    expect(
      await sampleValue(registry, 'headroom_breaker_calls_total', { breaker: 'astro', result: 'success' }),
    ).toBe(1)
    const failures = await sampleValue(registry, 'headroom_breaker_calls_total', {
      breaker: 'astro',
      result: 'failure',
    })
    const rejected = await sampleValue(registry, 'headroom_breaker_rejected_calls_total', {
      breaker: 'astro',
    })
    // Three failing fires: each either ran and failed or was refused by the open breaker.
    expect((failures ?? 0) + (rejected ?? 0)).toBe(3)
    expect(await sampleValue(registry, 'headroom_breaker_opens_total', { breaker: 'astro' })).toBe(1)
  })
})
