import { createManualClock, isHeadroomError } from '@headroom/core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type Cache, type CacheOptions, createCache, isCacheInputError } from '../src/index.js'

const caches: Cache[] = []
function make(options: Partial<CacheOptions> = {}) {
  const clock = createManualClock(1_000_000)
  const cache = createCache({ prefix: 'mem', jitter: 0, earlyRefresh: 0, clock, ...options })
  caches.push(cache)
  return { cache, clock }
}
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()))
})

const deferred = <T>() => {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('createCache (L1 only)', () => {
  it('stores, reads and expires by TTL', async () => {
    const { cache, clock } = make({ ttl: 1_000 })
    await cache.set('a', { n: 1 })
    expect(await cache.get('a')).toEqual({ n: 1 })
    clock.advance(999)
    expect(await cache.get('a')).toEqual({ n: 1 })
    clock.advance(1)
    expect(await cache.get('a')).toBeUndefined()
  })

  it('peek reads fresh L1 values synchronously without touching recency', async () => {
    const { cache, clock } = make({ ttl: 1_000, l1: { max: 2 } })
    await cache.set('a', 1)
    await cache.set('b', 2)
    expect(cache.peek('a')).toBe(1) // does not make `a` recent...
    await cache.set('c', 3) // ...so `a` is the one evicted
    expect(cache.peek('a')).toBeUndefined()
    expect(cache.peek('c')).toBe(3)
    clock.advance(1_000)
    expect(cache.peek('c')).toBeUndefined()
  })

  it('picks the TTL tier by the longest key prefix', async () => {
    const { cache, clock } = make({ ttl: 100, tiers: { 'content:': 10_000, 'content:hot:': 1_000 } })
    await cache.set('content:1', 1)
    await cache.set('content:hot:1', 2)
    await cache.set('other', 3)
    clock.advance(500)
    expect(await cache.getMany(['content:1', 'content:hot:1', 'other'])).toEqual([1, 2, undefined])
    clock.advance(1_000)
    expect(await cache.getMany(['content:1', 'content:hot:1'])).toEqual([1, undefined])
  })

  it('runs the factory once for 1,000 concurrent misses of one key', async () => {
    const { cache } = make()
    const gate = deferred<string>()
    const factory = vi.fn(() => gate.promise)
    const all = Promise.all(Array.from({ length: 1_000 }, () => cache.getOrSet('k', factory)))
    gate.resolve('v')
    expect(new Set(await all)).toEqual(new Set(['v']))
    expect(factory).toHaveBeenCalledTimes(1)
    expect(cache.stats().coalesced).toBe(999)
    expect(await cache.getOrSet('k', factory)).toBe('v')
    expect(factory).toHaveBeenCalledTimes(1)
    expect(cache.stats().l1.hits).toBe(1)
  })

  it('shares a factory error with every waiter and caches nothing', async () => {
    const { cache } = make()
    const factory = vi.fn(async () => {
      throw new Error('db down')
    })
    const results = await Promise.allSettled([cache.getOrSet('k', factory), cache.getOrSet('k', factory)])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect(factory).toHaveBeenCalledTimes(1)
    expect(await cache.get('k')).toBeUndefined()
    expect(cache.stats().factory.errors).toBe(1)
  })

  it('serves stale within grace when the factory fails, and not after grace', async () => {
    const { cache, clock } = make({ ttl: 1_000, grace: 10_000 })
    await cache.set('k', 'old')
    clock.advance(2_000)
    const failing = async (): Promise<string> => {
      throw new Error('boom')
    }
    expect(await cache.getOrSet('k', failing)).toBe('old')
    expect(cache.stats().staleServed).toBe(1)
    clock.advance(10_000)
    await expect(cache.getOrSet('k', failing)).rejects.toThrow('boom')
  })

  it('soft timeout returns stale, then the factory result lands in the background', async () => {
    const { cache, clock } = make({ ttl: 1_000, grace: 60_000, timeout: { soft: 100, hard: 5_000 } })
    await cache.set('k', 'old')
    clock.advance(1_500)
    const slow = deferred<string>()
    const pending = cache.getOrSet('k', () => slow.promise)
    await clock.advanceAsync(100)
    expect(await pending).toBe('old')
    expect(cache.stats().factory.softTimeouts).toBe(1)
    slow.resolve('new')
    await vi.waitFor(async () => expect(await cache.get('k')).toBe('new'))
  })

  it('hard timeout rejects with E_TIMEOUT and aborts the factory signal', async () => {
    const { cache, clock } = make({ timeout: { soft: 100, hard: 1_000 } })
    let signal: AbortSignal | undefined
    const pending = cache.getOrSet('k', (ctx) => {
      signal = ctx.signal
      return new Promise<string>(() => {})
    })
    const outcome = pending.catch((error: unknown) => error)
    await clock.advanceAsync(1_000)
    const error = await outcome
    expect(isHeadroomError(error, 'E_TIMEOUT')).toBe(true)
    expect(signal?.aborted).toBe(true)
    expect(cache.stats().factory.hardTimeouts).toBe(1)
    expect(await cache.get('k')).toBeUndefined()
  })

  it('refreshes early (XFetch) before expiry, without making the caller wait', async () => {
    const clock = createManualClock(0)
    const cache = createCache({ prefix: 'x', ttl: 10_000, jitter: 0, earlyRefresh: 1, clock })
    caches.push(cache)
    let calls = 0
    const factory = async () => {
      calls++
      clock.advance(500) // the factory "takes" 500 ms: XFetch scales by it
      return calls
    }
    expect(await cache.getOrSet('k', factory)).toBe(1)
    // Far from expiry a refresh is (practically) impossible.
    for (let i = 0; i < 1_000; i++) await cache.getOrSet('k', factory)
    expect(calls).toBe(1)
    // 1 ms before expiry with delta 500 ms, a refresh is near certain within a few hits.
    clock.set(10_499)
    let served = 1
    for (let i = 0; i < 50 && calls === 1; i++) served = await cache.getOrSet('k', factory)
    expect(served).toBe(1) // the hit itself returned the current value
    expect(calls).toBe(2)
    await vi.waitFor(async () => expect(await cache.get('k')).toBe(2))
    expect(cache.stats().earlyRefreshes).toBe(1)
  })

  it('invalidates by tag and by entity', async () => {
    const { cache } = make()
    await cache.set('post:1', 'p1', { tags: ['posts', 'user:7'] })
    await cache.set('post:2', 'p2', { tags: ['posts'] })
    await cache.set('user:7', 'u7')
    await cache.set('feed:7', 'f7', { tags: ['user:7'] })
    await cache.invalidateEntity('user', 7)
    expect(await cache.getMany(['post:1', 'post:2', 'user:7', 'feed:7'])).toEqual([
      undefined,
      'p2',
      undefined,
      undefined,
    ])
    await cache.invalidateTags(['posts'])
    expect(await cache.get('post:2')).toBeUndefined()
  })

  it('does not write back a load that a delete overtook', async () => {
    const { cache } = make()
    const slow = deferred<string>()
    const pending = cache.getOrSet('k', () => slow.promise)
    await cache.delete('k')
    slow.resolve('computed before the delete')
    expect(await pending).toBe('computed before the delete')
    expect(await cache.get('k')).toBeUndefined()
  })

  it('a tag invalidation spoils only the loads of keys carrying that tag', async () => {
    const { cache } = make()
    const untagged = deferred<string>()
    const otherTag = deferred<string>()
    const sameTag = deferred<string>()
    const loads = [
      cache.getOrSet('user:1', () => untagged.promise),
      cache.getOrSet('profiles:2', () => otherTag.promise, { tags: ['profiles:2'] }),
      cache.getOrSet('profiles:1:list', () => sameTag.promise, { tags: ['profiles:1'] }),
    ]
    // Another user's write invalidates its own tag while all three loads are in flight.
    await cache.invalidateTags(['profiles:1'])
    untagged.resolve('u1')
    otherTag.resolve('p2')
    sameTag.resolve('list read before the write')
    expect(await Promise.all(loads)).toEqual(['u1', 'p2', 'list read before the write'])
    expect(cache.peek('user:1')).toBe('u1')
    expect(cache.peek('profiles:2')).toBe('p2')
    expect(cache.peek('profiles:1:list')).toBeUndefined()
  })

  it('refuses bad input with a clear error and changes nothing', async () => {
    const { cache } = make()
    await cache.set('k', 'kept', { tags: ['t'] })
    const circular: Record<string, unknown> = {}
    circular.self = circular
    const attempts: [Promise<unknown>, RegExp][] = [
      [cache.set('k', undefined), /undefined.*use null/],
      [cache.set('k', 10n), /bigint/],
      [cache.set('k', () => 1), /function/],
      [cache.set('k', circular), /circular/i],
      [cache.set('', 'x'), /non-empty string/],
      [cache.set('k', 'x', { ttl: -5 }), /ttl must be a positive number.*-5/],
      [cache.set('k', 'x', { ttl: Number.NaN }), /ttl/],
      [cache.set('k', 'x', { ttl: 1e300 }), /ttl must be a positive number of ms up to/],
      [cache.set('k', 'x', { tags: [''] }), /tags/],
      [cache.getOrSet('', () => 'x'), /non-empty string/],
      [cache.getOrSet('k2', () => undefined as unknown as string), /undefined/],
      [cache.getOrSet('k3', () => 5n as unknown as string), /bigint/],
      [cache.get(undefined as unknown as string), /non-empty string/],
      [cache.delete(''), /non-empty string/],
    ]
    for (const [attempt, message] of attempts) await expect(attempt).rejects.toThrow(message)
    expect(isCacheInputError(await cache.set('k', undefined).catch((e: unknown) => e))).toBe(true)
    expect(await cache.get('k')).toBe('kept')
    expect(await cache.getMany(['k2', 'k3'])).toEqual([undefined, undefined])
    expect(cache.stats().l1.size).toBe(1)
    expect(() => cache.shrink(2)).toThrow(/0 to 1/)
  })

  it('validates options at construction with the option named', () => {
    expect(() => createCache({ prefix: '' })).toThrow(/"prefix"/)
    expect(() => createCache({ prefix: 'a{b}' })).toThrow(/"prefix"/)
    expect(() => createCache({ prefix: 'p', l1: { max: -5 } })).toThrow(/"l1.max".*-5/)
    expect(() => createCache({ prefix: 'p', ttl: -1 })).toThrow(/"ttl"/)
    expect(() => createCache({ prefix: 'p', timeout: { soft: -1 } })).toThrow(/"timeout.soft"/)
  })

  it('shrink evicts the least recently used fraction', async () => {
    const { cache } = make({ l1: { max: 100 } })
    for (let i = 0; i < 10; i++) await cache.set(`k${i}`, i)
    await cache.get('k0') // k0 becomes most recent
    expect(cache.shrink(0.5)).toBe(5)
    expect(await cache.get('k0')).toBe(0)
    expect(await cache.get('k1')).toBeUndefined()
    expect(cache.stats().l1.size).toBe(5)
    expect(cache.shrink(1)).toBe(5)
    expect(cache.stats().l1.size).toBe(0)
  })

  it('bounds L1 by estimated bytes', async () => {
    const { cache } = make({ l1: { max: 1_000, maxSize: 10_000 } })
    for (let i = 0; i < 100; i++) await cache.set(`k${i}`, 'x'.repeat(1_000))
    const { l1 } = cache.stats()
    expect(l1.bytes).toBeLessThanOrEqual(10_000)
    expect(l1.size).toBeLessThan(10)
  })

  it('emits typed events and unsubscribes', async () => {
    const { cache } = make()
    const misses: string[] = []
    const off = cache.on('miss', ({ key }) => misses.push(key))
    await cache.getOrSet('a', () => 1)
    off()
    await cache.getOrSet('b', () => 2)
    expect(misses).toEqual(['a'])
  })

  it('close() clears pending timers and refuses new loads', async () => {
    const { cache, clock } = make({ timeout: { soft: 100, hard: 60_000 } })
    void cache.getOrSet('k', () => new Promise<number>(() => {})).catch(() => {})
    await vi.waitFor(() => expect(clock.pending()).toBeGreaterThan(0))
    await cache.close()
    expect(clock.pending()).toBe(0)
    await expect(cache.getOrSet('z', () => 1)).rejects.toThrow(/closed/)
  })
})
