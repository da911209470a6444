import { createManualClock, type ManualClock } from '@headroom/core'
import { describeRedis } from '@headroom/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type Cache, type CacheOptions, createCache } from '../src/index.js'

const caches: Cache[] = []
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()))
})

/**
 * Four keys loaded at t=0 with a 10 s TTL; `hot` and `warm` read every second, `cold` once.
 * Returns the factory calls by key after the TTL wave (t = 10.5 s) and a read of each key.
 */
async function ttlWave(clock: ManualClock, options: Partial<CacheOptions>, idle: () => boolean) {
  const cache = createCache({
    prefix: 'pf',
    ttl: 10_000,
    jitter: 0,
    earlyRefresh: 0,
    clock,
    prefetch: { idle, keys: 2, intervalMs: 1000 },
    ...options,
  })
  caches.push(cache)
  await cache.ready
  const calls: Record<string, number> = { hot: 0, warm: 0, cold: 0 }
  const factory = (key: string) => async () => {
    calls[key]!++
    return `${key}@${clock.now()}`
  }
  for (const key of Object.keys(calls)) await cache.getOrSet(key, factory(key))
  for (let second = 1; second <= 10; second++) {
    for (let i = 0; i < 20; i++) await cache.getOrSet('hot', factory('hot'))
    for (let i = 0; i < 5; i++) await cache.getOrSet('warm', factory('warm'))
    clock.advance(1000)
    // Let a refresh the tick started finish its write.
    await vi.waitFor(() => expect(cache.stats().inflight).toBe(0))
  }
  clock.advance(500)
  const before = cache.stats()
  for (const key of Object.keys(calls)) await cache.getOrSet(key, factory(key))
  const after = cache.stats()
  return { calls, cache, missesAfterWave: after.misses - before.misses }
}

describe('prefetch: hot keys are refreshed before they expire while idle', () => {
  it('refreshes the two hottest keys ahead of the TTL wave; the cold one misses', async () => {
    const { calls, cache, missesAfterWave } = await ttlWave(createManualClock(0), {}, () => true)
    expect(calls).toEqual({ hot: 2, warm: 2, cold: 2 })
    expect(missesAfterWave).toBe(1) // only `cold`
    expect(cache.stats().prefetches).toBe(2)
    expect(cache.hotKeys()).toEqual(['hot', 'warm'])
  })

  it('does nothing while the idle signal says no (or throws): the wave misses every key', async () => {
    const busy = await ttlWave(createManualClock(0), {}, () => false)
    expect(busy.missesAfterWave).toBe(3)
    // Ranking goes on while busy: the hot keys are known, only the refreshes wait.
    expect(busy.cache.hotKeys()).toEqual(['hot', 'warm'])
    expect(busy.cache.stats().prefetches).toBe(0)
    const throwing = await ttlWave(createManualClock(0), {}, () => {
      throw new Error('no status')
    })
    expect(throwing.missesAfterWave).toBe(3)
  })

  it('keeps a bounded number of candidate factories: once ranked hot, cold churn does not push a key out', async () => {
    const clock = createManualClock(0)
    const cache = createCache({
      prefix: 'pf',
      ttl: 10_000,
      jitter: 0,
      earlyRefresh: 0,
      clock,
      prefetch: { idle: () => true, keys: 1, intervalMs: 1000, maxCandidates: 100 },
    })
    caches.push(cache)
    let hotCalls = 0
    const hot = async () => ++hotCalls
    await cache.getOrSet('hot', hot)
    for (let second = 1; second <= 10; second++) {
      for (let i = 0; i < 10; i++) await cache.getOrSet('hot', hot)
      // 50 one-off keys a second: 500 in all, five times the candidate bound.
      for (let i = 0; i < 50; i++) await cache.getOrSet(`once:${second}:${i}`, async () => i)
      clock.advance(1000)
      await vi.waitFor(() => expect(cache.stats().inflight).toBe(0))
    }
    expect(hotCalls).toBe(2)
    expect(cache.stats().prefetches).toBe(1)
  })

  it('refuses a prefetch without an idle function, naming the option', () => {
    expect(() => createCache({ prefix: 'pf', prefetch: { keys: 10 } as never })).toThrow(/prefetch\.idle/)
  })
})

describeRedis('prefetch with Redis', (target) => {
  const redis = target.client()
  it('writes the refreshed value to L2 too, where another instance reads it', async () => {
    const prefix = target.prefix('pf')
    const clock = createManualClock(Date.now())
    const { calls } = await ttlWave(clock, { redis, prefix, commandTimeout: 1000 }, () => true)
    expect(calls).toEqual({ hot: 2, warm: 2, cold: 2 })
    const other = createCache({ redis, prefix, clock, commandTimeout: 1000 })
    caches.push(other)
    await other.ready
    const refreshed = await other.getOrSet<string>('hot', () => 'never')
    expect(refreshed).not.toBe('never')
    expect(other.stats().l2.hits).toBe(1)
  })
})
