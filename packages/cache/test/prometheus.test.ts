import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { type Cache, createCache } from '../src/index.js'
import { registerCacheMetrics } from '../src/prometheus.js'

const caches: Cache[] = []
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()))
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

describe('registerCacheMetrics', () => {
  it('exports hits per tier and misses as counters, L1 size as a gauge, read at scrape time', async () => {
    const registry = new Registry()
    const cache = createCache({ prefix: 'prom' })
    caches.push(cache)
    registerCacheMetrics(registry, { pages: cache })

    await cache.getOrSet('a', async () => 1)
    await cache.getOrSet('b', async () => 2)
    await cache.getOrSet('a', async () => 3)
    await cache.get('a')
    await cache.get('a')

    expect((await family(registry, 'headroom_cache_hits_total')).type).toBe('counter')
    expect(await sampleValue(registry, 'headroom_cache_hits_total', { cache: 'pages', tier: 'l1' })).toBe(3)
    expect(await sampleValue(registry, 'headroom_cache_hits_total', { cache: 'pages', tier: 'l2' })).toBe(0)
    expect((await family(registry, 'headroom_cache_misses_total')).type).toBe('counter')
    expect(await sampleValue(registry, 'headroom_cache_misses_total', { cache: 'pages' })).toBe(2)
    expect(await sampleValue(registry, 'headroom_cache_factory_calls_total', { cache: 'pages' })).toBe(2)
    expect((await family(registry, 'headroom_cache_l1_entries')).type).toBe('gauge')
    expect(await sampleValue(registry, 'headroom_cache_l1_entries', { cache: 'pages' })).toBe(2)
    expect(await sampleValue(registry, 'headroom_cache_l2_state', { cache: 'pages' })).toBe(-1)

    await cache.get('a')
    // A second scrape sees the new count, not an accumulation of scrapes.
    expect(await sampleValue(registry, 'headroom_cache_hits_total', { cache: 'pages', tier: 'l1' })).toBe(4)
    const text = await registry.metrics()
    expect(text).toContain('# TYPE headroom_cache_hits_total counter')
    expect(text).toContain('headroom_cache_hits_total{cache="pages",tier="l1"} 4')
  })

  it('labels several caches apart and removes its metrics when unregistered', async () => {
    const registry = new Registry()
    const one = createCache({ prefix: 'one' })
    const two = createCache({ prefix: 'two' })
    caches.push(one, two)
    const unregister = registerCacheMetrics(registry, { one, two })
    await two.getOrSet('k', async () => 'v')
    expect(await sampleValue(registry, 'headroom_cache_misses_total', { cache: 'one' })).toBe(0)
    expect(await sampleValue(registry, 'headroom_cache_misses_total', { cache: 'two' })).toBe(1)

    unregister()
    expect(registry.getMetricsAsArray()).toEqual([])
  })
})
