import diagnosticsChannel from 'node:diagnostics_channel'
import { createManualClock, keySlot } from '@headroom/core'
import { describeRedis } from '@headroom/testing'
import { describe, expect, it } from 'vitest'
import { createMemoryStore, createRateLimiter, type Decision } from '../src/index.js'

describe('createRateLimiter options', () => {
  it('names the bad option and the value', () => {
    expect(() => createRateLimiter({ limit: -1, window: 1000 })).toThrow(/option "limit".*received -1/)
    expect(() => createRateLimiter({ limit: 1, window: '2 fortnights' as '1m' })).toThrow(
      /option "window".*"2 fortnights"/,
    )
    expect(() => createRateLimiter({ limit: 1, window: 0.5 })).toThrow(/option "window"/)
    expect(() => createRateLimiter({ limit: 1 })).toThrow(/option "window"/)
    expect(() => createRateLimiter({})).toThrow(/option "limit"/)
    expect(() => createRateLimiter({ limit: 1, window: 1, algorithm: 'leaky' as 'gcra' })).toThrow(
      /option "algorithm"/,
    )
    expect(() => createRateLimiter({ limit: 1, window: 1, prefix: 'a{b' })).toThrow(/option "prefix"/)
    expect(() => createRateLimiter({ limit: 1, window: 1, memory: { maxkeys: 5 } } as never)).toThrow(
      /option "memory.maxkeys"/,
    )
    expect(() => createMemoryStore({ maxKeys: 0 })).toThrow(/createMemoryStore option "maxKeys"/)
    expect(() => createRateLimiter({ limit: 1, window: 1, onStoreError: 'maybe' as 'open' })).toThrow(
      /option "onStoreError"/,
    )
    expect(() =>
      createRateLimiter({
        policies: [
          { name: 'a', limit: 1, window: 1 },
          { name: 'a', limit: 2, window: 2 },
        ],
      }),
    ).toThrow(/unique/)
  })

  it('accepts duration strings and names policies', () => {
    const limiter = createRateLimiter({
      policies: [
        { limit: 10, window: '1s' },
        { limit: 1000, window: '1d', burst: 50 },
      ],
    })
    expect(limiter.policies).toEqual([
      { name: '10-per-1s', algorithm: 'gcra', limit: 10, windowMs: 1000, burst: 10 },
      { name: '1000-per-1d', algorithm: 'gcra', limit: 1000, windowMs: 86_400_000, burst: 50 },
    ])
  })
})

describe('memory store', () => {
  it('holds no timer per key: one sweep timer for the whole store', async () => {
    const clock = createManualClock(0)
    const limiter = createRateLimiter({ limit: 5, window: 1000, clock })
    for (let i = 0; i < 500; i++) await limiter.consume(`k${i}`)
    expect(clock.pending()).toBe(1)
    await limiter.close()
    expect(clock.pending()).toBe(0)
  })

  it('is bounded, and the sweep drops expired keys', async () => {
    const clock = createManualClock(0)
    const store = createMemoryStore({ clock, maxKeys: 100, sweepIntervalMs: 10_000 })
    const limiter = createRateLimiter({ store, limit: 5, window: 1000, clock })
    for (let i = 0; i < 250; i++) await limiter.consume(`k${i}`)
    expect(store.size).toBe(100)
    clock.advance(10_000)
    expect(store.size).toBe(0)
    expect(clock.pending()).toBe(0)
    await limiter.close()
  })

  it('has no 24-day ceiling: month-long windows and blocks hold', async () => {
    const clock = createManualClock(1_700_000_000_000)
    const limiter = createRateLimiter({ limit: 1, window: '40d', clock })
    await limiter.consume('k')
    clock.advance(30 * 86_400_000)
    expect((await limiter.consume('k')).allowed).toBe(false)
    await limiter.block('other', 35 * 86_400_000)
    clock.advance(34 * 86_400_000)
    expect(await limiter.peek('other')).toMatchObject({
      allowed: false,
      policy: 'block',
      retryAfterMs: 86_400_000,
    })
    clock.advance(86_400_000)
    expect((await limiter.peek('other')).allowed).toBe(true)
    await limiter.close()
  })
})

describe('observability', () => {
  it('counts decisions, emits limited, publishes on diagnostics channels', async () => {
    const limiter = createRateLimiter({ limit: 1, window: 1000 })
    const limited: Decision[] = []
    const off = limiter.on('limited', ({ decision }) => limited.push(decision))
    const published: unknown[] = []
    const listener = (message: unknown) => published.push(message)
    diagnosticsChannel.subscribe('headroom:rate-limit:limited', listener)
    await limiter.consume('k')
    await limiter.consume('k')
    await limiter.consume('k')
    off()
    await limiter.consume('k')
    diagnosticsChannel.unsubscribe('headroom:rate-limit:limited', listener)
    expect(limited).toHaveLength(2)
    expect(published.length).toBeGreaterThanOrEqual(2)
    expect(limiter.stats()).toMatchObject({
      decisions: 4,
      allowed: 1,
      limited: 3,
      fastPathRefusals: 2,
      gate: 'none',
    })
    await limiter.close()
  })
})

describeRedis('Redis keys', (target) => {
  const redis = target.client()

  it('every key written carries an expiry no longer than its state needs', async () => {
    const prefix = target.prefix('rlttl')
    const limiter = createRateLimiter({
      redis,
      prefix,
      policies: [
        { limit: 5, window: 10_000 },
        { limit: 100, window: '1h', algorithm: 'sliding-window' },
      ],
      timeout: 2000,
    })
    await limiter.consume('a')
    await limiter.consume('a')
    await limiter.refund('a')
    await limiter.consume('b', { cost: 2 })
    await limiter.block('c', 5000)
    await limiter.peek('d')
    const [perTenSeconds, perHour] = limiter.policies.map((p) => p.name)
    const written = [
      [`{${prefix}:a}:${perTenSeconds}`, 10_000],
      [`{${prefix}:a}:${perHour}`, 2 * 3_600_000],
      [`{${prefix}:b}:${perTenSeconds}`, 10_000],
      [`{${prefix}:b}:${perHour}`, 2 * 3_600_000],
      // A block is written into each policy's key, living until the block ends.
      [`{${prefix}:c}:${perTenSeconds}`, 5000],
      [`{${prefix}:c}:${perHour}`, 5000],
    ] as const
    for (const [key, most] of written) {
      const ttl = await redis.pttl(key)
      expect(ttl, key).toBeGreaterThan(0)
      expect(ttl, key).toBeLessThanOrEqual(most)
    }
    // peek writes nothing.
    expect(await redis.exists(`{${prefix}:d}:${perTenSeconds}`, `{${prefix}:d}:${perHour}`)).toBe(0)
    await limiter.close()
  })

  /** A limit no test reaches, so only batching is observed. */
  const roomyLimiter = (name: string) =>
    createRateLimiter({ redis, prefix: target.prefix(name), limit: 1000, window: 1000, timeout: 2000 })

  it('coalesces one tick of decisions into few script calls', async () => {
    const limiter = roomyLimiter('rlb')
    await Promise.all(Array.from({ length: 64 }, (_, i) => limiter.consume(`k${i % 8}`)))
    const { batches, batchedOperations } = limiter.stats()
    expect(batchedOperations).toBe(64)
    // All 64 coalesce: standalone, into one call; Cluster, one per hash slot (8 keys, at most 8 slots).
    expect(batches).toBeLessThanOrEqual(target.kind === 'standalone' ? 1 : 8)
    expect(limiter.stats().latency.count).toBe(batches)
    await limiter.close()
  })

  it('coalesces decisions made in separate callbacks of one loop turn while a call is in flight', async () => {
    const limiter = roomyLimiter('rlturn')
    // Like an HTTP server, which gets each request in a callback of its own: 32 immediates
    // queued together run in one check phase, each followed by its own microtasks. (Timers
    // would not do: on a busy machine 32 timers due "together" can straddle a millisecond
    // and fire in two turns.)
    const inFlight = limiter.consume('first')
    const decisions = await new Promise<Promise<unknown>[]>((resolve) => {
      const made: Promise<unknown>[] = []
      for (let i = 0; i < 32; i++)
        setImmediate(() => {
          made.push(limiter.consume(`k${i % 8}`))
          if (made.length === 32) resolve(made)
        })
    })
    await Promise.all([inFlight, ...decisions])
    const { batches, batchedOperations } = limiter.stats()
    expect(batchedOperations).toBe(33)
    // A flush per callback would make 33 calls. Coalesced: the first call, then the 32
    // together, or 1 + 31 when the first reply was read before the immediates ran (on
    // Cluster, a call per hash slot of the 8 keys).
    expect(batches).toBeLessThanOrEqual(target.kind === 'standalone' ? 3 : 10)
    await limiter.close()
  })

  it('decides large batches (several reads per script call) with repeated keys exactly', async () => {
    const limiter = createRateLimiter({
      redis,
      prefix: target.prefix('rlbig'),
      limit: 1,
      window: 60_000,
      timeout: 5000,
      maxBatch: 4096,
      blockedCache: false,
    })
    // 1,500 keys, each asked twice in the same tick: the first is allowed, the second sees its write.
    const keys = Array.from({ length: 1500 }, (_, i) => `k${i}`)
    const decisions = await Promise.all([...keys, ...keys].map((key) => limiter.consume(key)))
    expect(decisions.slice(0, 1500).every((d) => d.allowed && d.source === 'redis')).toBe(true)
    expect(decisions.slice(1500).every((d) => !d.allowed && d.source === 'redis')).toBe(true)
    await limiter.close()
  })

  if (target.kind === 'cluster') {
    it('computes the same hash slot as the Cluster', async () => {
      for (const key of ['{rl:user:1}', '{rl:2001:db8::/56}', '{rl:é-ü}', 'plain', '{}x', 'a{b}c{d}']) {
        expect(keySlot(key)).toBe(await (redis as import('ioredis').Cluster).cluster('KEYSLOT', key))
      }
    })
  }
})
