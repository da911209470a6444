import { createManualClock } from '@headroom/core'
import { describeRedis, waitUntil } from '@headroom/testing'
import { describe, expect, it } from 'vitest'
import { createConcurrencyLimiter } from '../src/index.js'

describe('concurrency limiter [memory]', () => {
  it('holds at most `limit` leases per key; release and expiry free them', async () => {
    const clock = createManualClock(0)
    const limiter = createConcurrencyLimiter({ limit: 2, leaseMs: 1000, clock })
    const a = await limiter.acquire('k')
    const b = await limiter.acquire('k')
    const c = await limiter.acquire('k')
    expect([a.allowed, b.allowed, c.allowed]).toEqual([true, true, false])
    expect(c.retryAfterMs).toBe(1000)
    expect((await limiter.acquire('other')).allowed).toBe(true)
    await a.lease!.release()
    await a.lease!.release()
    expect((await limiter.acquire('k')).allowed).toBe(true)
    expect(await limiter.active('k')).toBe(2)
    clock.advance(1000)
    expect(await limiter.active('k')).toBe(0)
    expect((await limiter.acquire('k')).allowed).toBe(true)
    await limiter.close()
  })

  it('run() releases however fn ends', async () => {
    const limiter = createConcurrencyLimiter({ limit: 1 })
    await expect(limiter.run('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    const result = await limiter.run('k', async () => 42)
    expect(result).toEqual({ allowed: true, value: 42 })
    await limiter.close()
  })

  it('rejects bad input clearly', async () => {
    expect(() => createConcurrencyLimiter({ limit: 0 })).toThrow(/option "limit"/)
    const limiter = createConcurrencyLimiter({ limit: 1 })
    await expect(limiter.acquire('')).rejects.toThrow(TypeError)
    await expect(limiter.acquire('k', { limit: 1.5 })).rejects.toThrow(/limit/)
    await limiter.close()
  })
})

describeRedis('concurrency limiter', (target) => {
  it('shares leases across limiters; a dead holder frees its slot after leaseMs', async () => {
    const redis = target.client()
    const prefix = target.prefix('cl')
    const one = createConcurrencyLimiter({ redis, prefix, limit: 2, leaseMs: 300, timeout: 2000 })
    const two = createConcurrencyLimiter({ redis, prefix, limit: 2, leaseMs: 300, timeout: 2000 })
    const results = await Promise.all([
      one.acquire('k'),
      two.acquire('k'),
      one.acquire('k'),
      two.acquire('k'),
    ])
    expect(results.filter((r) => r.allowed)).toHaveLength(2)
    const refused = results.find((r) => !r.allowed)!
    expect(refused.retryAfterMs).toBeGreaterThan(0)
    expect(refused.retryAfterMs).toBeLessThanOrEqual(300)
    const held = results.filter((r) => r.allowed)
    await held[0]!.lease!.release()
    expect((await two.acquire('k')).allowed).toBe(true)
    // Nobody releases now: the leases expire on their own.
    await waitUntil(async () => (await one.acquire('k')).allowed, {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: 'lease expiry',
    })
    expect(await redis.pttl(`{${prefix}:k}:leases`)).toBeGreaterThan(0)
    await Promise.all([one.close(), two.close()])
  })
})
