import { describeRedis } from '@headroom/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type Cache, type CacheOptions, createCache } from '../src/index.js'

const caches: Cache[] = []
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()))
})

describeRedis('warm: a restarted worker fills L1 from L2', (target) => {
  const redis = target.client()
  async function make(prefix: string, options: Partial<CacheOptions> = {}) {
    const cache = createCache({ redis, prefix, commandTimeout: 2000, ...options })
    caches.push(cache)
    await cache.ready
    return cache
  }

  it('reads the keys in chunked MGETs (per slot on a Cluster) into L1; later reads are L1 hits', async () => {
    const prefix = target.prefix('warm')
    const writer = await make(prefix)
    const keys = Array.from({ length: 600 }, (_, i) => `content:${i}`)
    for (let i = 0; i < keys.length; i += 100) {
      await Promise.all(keys.slice(i, i + 100).map((key) => writer.set(key, { key })))
    }
    const restarted = await make(prefix)
    const mget = vi.spyOn(redis, 'mget')
    expect(await restarted.warm([...keys, 'content:absent'])).toBe(600)
    const calls = mget.mock.calls.length
    mget.mockRestore()
    // 601 keys in chunks of 500: two MGETs standalone; on a Cluster one per hash slot.
    if (target.kind === 'standalone') expect(calls).toBe(2)
    else expect(calls).toBeLessThanOrEqual(601)
    expect(restarted.stats()).toMatchObject({ l1: { size: 600, hits: 0 }, l2: { hits: 0 } })

    const factory = vi.fn(() => ({ key: 'recomputed' }))
    for (const key of keys) expect(await restarted.getOrSet(key, factory)).toEqual({ key })
    expect(factory).not.toHaveBeenCalled()
    expect(restarted.stats().l1.hits).toBe(600)
  })

  it('takes a function giving the keys, and skips keys already fresh in L1', async () => {
    const prefix = target.prefix('warm')
    const writer = await make(prefix)
    await writer.set('a', 1)
    await writer.set('b', 2)
    const restarted = await make(prefix)
    await restarted.set('a', 10)
    expect(await restarted.warm(async () => new Set(['a', 'b']))).toBe(1)
    expect(restarted.peek('a')).toBe(10)
    expect(restarted.peek('b')).toBe(2)
  })

  it('rejects when Redis fails, and with a clear error on bad input', async () => {
    const prefix = target.prefix('warm')
    const cache = await make(prefix)
    await expect(cache.warm('a' as never)).rejects.toThrow(/cache\.warm: keys must be an array/)
    await expect(cache.warm([''])).rejects.toThrow()
    const broken = createCache({
      redis: target.client({ lazyConnect: true, enableOfflineQueue: false }),
      prefix,
      bus: false,
      commandTimeout: 100,
    })
    caches.push(broken)
    await expect(broken.warm(['a'])).rejects.toThrow()
  })
})

describe('warm without Redis', () => {
  it('has no L2 to read: resolves 0', async () => {
    const cache = createCache({ prefix: 'warm' })
    caches.push(cache)
    expect(await cache.warm(['a'])).toBe(0)
  })
})
