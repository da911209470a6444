import { describeRedis } from '@headroom/testing'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { type Cache, type CacheOptions, createCache } from '../src/index.js'
import { registerCacheMetrics } from '../src/prometheus.js'

const caches: Cache[] = []
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()))
})
function make(options: CacheOptions): Cache {
  const cache = createCache(options)
  caches.push(cache)
  return cache
}

describe('hit rate in stats()', () => {
  it('gives the hit rate overall, per tier and per key group (the tiers prefixes by default)', async () => {
    const cache = make({ prefix: 'hr', tiers: { 'content:': 60_000, 'user:': 30_000 } })
    await cache.getOrSet('content:1', () => 'c1')
    for (let i = 0; i < 3; i++) await cache.getOrSet('content:1', () => 'never')
    await cache.getOrSet('user:1', () => 'u1')
    await cache.get('user:1')
    await cache.getOrSet('misc', () => 'm')

    const stats = cache.stats()
    expect(stats.l1.hits).toBe(4)
    expect(stats.misses).toBe(3)
    expect(stats.hitRate).toBeCloseTo(4 / 7)
    expect(stats.l1.hitRate).toBeCloseTo(4 / 7)
    expect(stats.l2.hitRate).toBe(0)
    expect(stats.groups['content:']).toEqual({ l1Hits: 3, l2Hits: 0, misses: 1, hitRate: 0.75 })
    expect(stats.groups['user:']).toEqual({ l1Hits: 1, l2Hits: 0, misses: 1, hitRate: 0.5 })
    expect(stats.groups.other).toEqual({ l1Hits: 0, l2Hits: 0, misses: 1, hitRate: 0 })
  })

  it('counts a get or getMany that neither tier answers as a miss of the hit rate (readMisses)', async () => {
    const cache = make({ prefix: 'hr', keyGroups: ['http:'] })
    await cache.set('http:/a', 'page')
    expect(await cache.get('http:/a')).toBe('page')
    expect(await cache.get('http:/b')).toBeUndefined()
    expect(await cache.getMany(['http:/a', 'http:/c'])).toEqual(['page', undefined])
    const stats = cache.stats()
    expect(stats).toMatchObject({ misses: 0, readMisses: 2 })
    expect(stats.groups['http:']).toEqual({ l1Hits: 2, l2Hits: 0, misses: 2, hitRate: 0.5 })
    expect(stats.hitRate).toBe(0.5)
  })

  it('groups by a function, bounded: names past maxKeyGroups count under "other"', async () => {
    const cache = make({ prefix: 'hr', keyGroups: (key) => key.split(':')[0]!, maxKeyGroups: 2 })
    for (const key of ['a:1', 'b:1', 'c:1', 'd:1', 'a:1', 'c:1']) await cache.getOrSet(key, () => key)
    const { groups } = cache.stats()
    expect(Object.keys(groups).sort()).toEqual(['a', 'b', 'other'])
    expect(groups.a).toMatchObject({ l1Hits: 1, misses: 1 })
    expect(groups.other).toMatchObject({ l1Hits: 1, misses: 2 })
  })

  it('counts L1 evictions (full) apart from entries shed by shrink()', async () => {
    const cache = make({ prefix: 'hr', l1: { max: 10 } })
    for (let i = 0; i < 25; i++) await cache.set(`k${i}`, i)
    expect(cache.stats().l1.evictions).toBe(15)
    expect(cache.shrink(0.5)).toBe(5)
    expect(cache.stats().l1).toMatchObject({ evictions: 15, shed: 5, size: 5 })
  })

  it('refuses a keyGroups that is neither prefixes nor a function', () => {
    expect(() => createCache({ prefix: 'hr', keyGroups: 'content:' as never })).toThrow(/keyGroups/)
  })

  it('exports group reads and evictions as Prometheus counters', async () => {
    const registry = new Registry()
    const cache = make({ prefix: 'hr', l1: { max: 2 }, keyGroups: ['content:'] })
    registerCacheMetrics(registry, { app: cache })
    await cache.getOrSet('content:1', () => 1)
    await cache.getOrSet('content:1', () => 1)
    await cache.getOrSet('x', () => 1)
    await cache.getOrSet('y', () => 1)
    const text = await registry.metrics()
    expect(text).toContain('# TYPE headroom_cache_group_reads_total counter')
    expect(text).toContain('headroom_cache_group_reads_total{cache="app",group="content:",result="l1_hit"} 1')
    expect(text).toContain('headroom_cache_group_reads_total{cache="app",group="content:",result="miss"} 1')
    expect(text).toContain('headroom_cache_group_reads_total{cache="app",group="other",result="miss"} 2')
    expect(text).toContain('headroom_cache_l1_evictions_total{cache="app",reason="capacity"} 1')
    expect(text).toContain('headroom_cache_l1_evictions_total{cache="app",reason="pressure"} 0')
  })
})

describeRedis('hit rate with Redis', (target) => {
  const redis = target.client()
  it('counts L2 hits per group and the L2 hit rate', async () => {
    const prefix = target.prefix('hr')
    const writer = make({ redis, prefix, keyGroups: ['content:'], commandTimeout: 1000 })
    const reader = make({ redis, prefix, keyGroups: ['content:'], commandTimeout: 1000 })
    await Promise.all([writer.ready, reader.ready])
    await writer.set('content:1', 'a')
    await writer.set('other:1', 'b')
    expect(await reader.getOrSet('content:1', () => 'never')).toBe('a')
    expect(await reader.getMany(['other:1', 'other:2'])).toEqual(['b', undefined])
    expect(await reader.get('content:3')).toBeUndefined()
    expect(await reader.getOrSet('content:2', () => 'new')).toBe('new')
    expect(await reader.getOrSet('content:1', () => 'never')).toBe('a')
    const stats = reader.stats()
    expect(stats.groups['content:']).toEqual({ l1Hits: 1, l2Hits: 1, misses: 2, hitRate: 0.5 })
    expect(stats.groups.other).toMatchObject({ l2Hits: 1, misses: 1 })
    expect(stats).toMatchObject({ misses: 1, readMisses: 2 })
    expect(stats.l2.hitRate).toBeCloseTo(2 / 5)
    expect(stats.hitRate).toBeCloseTo(3 / 6)
  })
})
