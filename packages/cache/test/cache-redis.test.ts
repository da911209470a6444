import { describeRedis, waitUntil } from '@headroom/testing'
import { afterEach, expect, it, vi } from 'vitest'
import { type Cache, type CacheOptions, createCache } from '../src/index.js'
import { deferred, keysWithTtl } from './helpers.js'

describeRedis('cache with Redis', (target) => {
  const caches: Cache[] = []
  const redis = target.client({ enableAutoPipelining: true })
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((cache) => cache.close()))
  })
  async function make(prefix: string, options: Partial<CacheOptions> = {}) {
    const cache = createCache({ redis, prefix, commandTimeout: 1_000, jitter: 0, ...options })
    caches.push(cache)
    await cache.ready
    return cache
  }

  it('reads through L2: a second instance gets the value without its factory', async () => {
    const prefix = target.prefix('cache')
    const a = await make(prefix)
    const b = await make(prefix)
    expect(await a.getOrSet('user:1', () => ({ name: 'Ada' }))).toEqual({ name: 'Ada' })
    const factory = vi.fn(() => ({ name: 'other' }))
    expect(await b.getOrSet('user:1', factory)).toEqual({ name: 'Ada' })
    expect(factory).not.toHaveBeenCalled()
    expect(b.stats().l2.hits).toBe(1)
    // Now from B's L1.
    expect(await b.getOrSet('user:1', factory)).toEqual({ name: 'Ada' })
    expect(b.stats().l1.hits).toBe(1)
  })

  it('coalesces concurrent misses, L2 read included, into one factory call per process', async () => {
    const prefix = target.prefix('cache')
    const cache = await make(prefix)
    const gate = deferred<number>()
    const factory = vi.fn(() => gate.promise)
    const mget = vi.spyOn(redis, 'mget')
    const all = Promise.all(Array.from({ length: 500 }, () => cache.getOrSet('hot', factory)))
    gate.resolve(42)
    expect(new Set(await all)).toEqual(new Set([42]))
    expect(factory).toHaveBeenCalledTimes(1)
    const reads = mget.mock.calls.flatMap(([keys]) => keys as unknown as string[])
    expect(reads.filter((key) => key.includes(prefix))).toHaveLength(1)
    mget.mockRestore()
  })

  it('batches the L2 reads of one tick into one MGET (per slot on a Cluster)', async () => {
    const prefix = target.prefix('cache')
    const writer = await make(prefix)
    for (let i = 0; i < 50; i++) await writer.set(`b${i}`, i)
    const reader = await make(prefix)
    const mget = vi.spyOn(redis, 'mget')
    const values = await Promise.all(Array.from({ length: 50 }, (_, i) => reader.getOrSet(`b${i}`, () => -1)))
    expect(values).toEqual(Array.from({ length: 50 }, (_, i) => i))
    const calls = mget.mock.calls.filter(([keys]) => String(keys).includes(prefix))
    if (target.kind === 'standalone') expect(calls).toHaveLength(1)
    else expect(calls.length).toBeLessThanOrEqual(50)
    mget.mockRestore()
  })

  it('getMany: L1, then one batch from L2, keeps order and misses', async () => {
    const prefix = target.prefix('cache')
    const a = await make(prefix)
    const b = await make(prefix)
    for (let i = 0; i < 20; i++) await a.set(`k${i}`, i)
    await b.set('k0', 0) // in B's L1
    const keys = [...Array.from({ length: 20 }, (_, i) => `k${i}`), 'missing', 'k3']
    const values = await b.getMany<number>(keys)
    expect(values).toEqual([...Array.from({ length: 20 }, (_, i) => i), undefined, 3])
    expect(await b.getMany([])).toEqual([])
  })

  it('every key written to Redis carries an expiry', async () => {
    const prefix = target.prefix('cache')
    const cache = await make(prefix, { lock: true, grace: 5_000 })
    await cache.set('a', 1, { tags: ['t1', 't2'] })
    await cache.set('b', 2, { ttl: 100_000, tags: ['t1'] })
    await cache.getOrSet('c', async () => 3, { tags: ['t2'] })
    await cache.getOrSet('content:1', async () => 4)
    const keys = await keysWithTtl(redis, prefix)
    expect(keys.size).toBeGreaterThanOrEqual(6) // 4 values + 2 tag indexes
    for (const [key, ttl] of keys) expect(ttl, key).toBeGreaterThan(0)
    // A tag index lives at least as long as its longest member.
    const tagIndex = [...keys].find(([key]) => key.includes('#tag:t1'))
    expect(tagIndex?.[1]).toBeGreaterThan(100_000)
  })

  it('tags invalidate entries in L2 and in the L1 of every instance', async () => {
    const prefix = target.prefix('cache')
    const a = await make(prefix)
    const b = await make(prefix)
    await a.set('post:1', 'p1', { tags: ['posts'] })
    await a.set('post:2', 'p2', { tags: ['posts', 'user:9'] })
    await a.set('user:9', 'u9')
    expect(await b.getMany(['post:1', 'post:2', 'user:9'])).toEqual(['p1', 'p2', 'u9'])
    // Wait for this invalidation's delivery (the bus also carries the earlier writes).
    await a.invalidateTags(['posts'])
    await waitUntil(() => b.peek('post:1') === undefined && b.peek('post:2') === undefined)
    expect(await b.getMany(['post:1', 'post:2', 'user:9'])).toEqual([undefined, undefined, 'u9'])
    await a.invalidateEntity('user', 9)
    await waitUntil(() => b.peek('user:9') === undefined)
    expect(await b.get('user:9')).toBeUndefined()
    expect((await keysWithTtl(redis, prefix)).size).toBe(0)
  })

  it('a set on one instance replaces the value in the L1 of the others', async () => {
    const prefix = target.prefix('cache')
    const a = await make(prefix)
    const b = await make(prefix)
    await a.set('k', 'v1')
    expect(await b.get('k')).toBe('v1')
    await a.set('k', 'v2')
    await waitUntil(() => b.peek('k') !== 'v1')
    expect(await b.get('k')).toBe('v2')
    expect(a.stats().bus.received).toBe(0) // its own messages are ignored
  })

  it('with lock, two instances run the factory once between them', async () => {
    const prefix = target.prefix('cache')
    const a = await make(prefix, { lock: { leaseMs: 5_000, waitMs: 5_000, pollMs: 10 } })
    const b = await make(prefix, { lock: { leaseMs: 5_000, waitMs: 5_000, pollMs: 10 } })
    let calls = 0
    const factory = async () => {
      calls++
      await new Promise((resolve) => setTimeout(resolve, 100))
      return 'once'
    }
    const results = await Promise.all([a.getOrSet('k', factory), b.getOrSet('k', factory)])
    expect(results).toEqual(['once', 'once'])
    expect(calls).toBe(1)
    const stats = [a.stats().lock, b.stats().lock]
    expect(stats[0]!.acquired + stats[1]!.acquired).toBe(1)
    // The lease is released (no lock key left behind).
    expect([...(await keysWithTtl(redis, prefix)).keys()].some((key) => key.endsWith(':lock'))).toBe(false)
  })

  it('a lock holder that dies is waited out until the lease expires, then the waiter computes', async () => {
    const prefix = target.prefix('cache')
    const cache = await make(prefix, { lock: { leaseMs: 300, waitMs: 5_000, pollMs: 20 } })
    // A crashed holder: a lease nobody renews.
    await redis.set(`{${prefix}:k}:lock`, 'dead-process', 'PX', 300)
    expect(await cache.getOrSet('k', () => 'mine')).toBe('mine')
    // It waited, then took the lease once it expired: no local fallback.
    expect(cache.stats().lock).toMatchObject({ acquired: 1, waited: 1, fallbacks: 0 })
  })

  it('bad input leaves L2 unchanged', async () => {
    const prefix = target.prefix('cache')
    const cache = await make(prefix)
    await cache.set('k', 'kept')
    await expect(cache.set('k', undefined)).rejects.toThrow(/undefined/)
    await expect(cache.set('k', { big: 1n })).rejects.toThrow(/BigInt/)
    await expect(cache.set('k', 'x', { ttl: -1 })).rejects.toThrow(/ttl/)
    await expect(cache.getOrSet('k2', () => undefined as unknown as string)).rejects.toThrow(/undefined/)
    const other = await make(prefix)
    expect(await other.get('k')).toBe('kept')
    expect(await other.get('k2')).toBeUndefined()
  })

  it('delete removes from L2 and from other instances', async () => {
    const prefix = target.prefix('cache')
    const a = await make(prefix)
    const b = await make(prefix)
    await a.set('x', 1)
    await a.set('y', 2)
    expect(await b.getMany(['x', 'y'])).toEqual([1, 2])
    await a.delete(['x', 'y'])
    await waitUntil(() => b.peek('x') === undefined && b.peek('y') === undefined)
    expect(await b.getMany(['x', 'y'])).toEqual([undefined, undefined])
    await waitUntil(async () => (await keysWithTtl(redis, prefix)).size === 0)
  })
})
