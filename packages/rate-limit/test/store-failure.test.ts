import { requestPathRedisOptions } from '@headroom/core'
import { hasRedisServer, type RedisServer, startRedisServer, waitUntil } from '@headroom/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createConcurrencyLimiter,
  createRateLimiter,
  type RateLimiter,
  type StoreErrorMode,
} from '../src/index.js'

/** Generous bound for "decided within the timeout" on a noisy shared machine (timeout is 50 ms). */
const DECIDED_WITHIN_MS = 1_000

describe.skipIf(!hasRedisServer())('Redis stopped mid-run', () => {
  let server: RedisServer
  let redis: Redis
  const limiters: RateLimiter[] = []

  beforeAll(async () => {
    server = await startRedisServer({ args: ['--enable-debug-command', 'yes'] })
    redis = new Redis(server.url, requestPathRedisOptions)
    redis.on('error', () => {})
    await redis.ping()
  })
  afterAll(async () => {
    await Promise.all(limiters.map((l) => l.close()))
    redis.disconnect()
    await server.close()
  })

  const make = (mode: StoreErrorMode) => {
    const limiter = createRateLimiter({
      redis,
      prefix: `fail-${mode}`,
      limit: 10,
      window: 60_000,
      onStoreError: mode,
      instances: 2,
      blockedCache: false,
    })
    limiters.push(limiter)
    return limiter
  }

  it('decides every call within the timeout per onStoreError, and recovers when Redis returns', {
    timeout: 60_000,
  }, async () => {
    const open = make('open')
    const closed = make('closed')
    const local = make('local')
    // The first call loads the script; on a busy machine it may miss 50 ms once.
    for (const l of [open, closed, local])
      await waitUntil(async () => (await l.consume('warm')).source === 'redis', {
        timeoutMs: 30_000,
        intervalMs: 50,
        what: 'Redis decisions',
      })

    await server.stop()
    const timed = async (l: RateLimiter) => {
      const started = performance.now()
      const decision = await l.consume('k')
      return { decision, ms: performance.now() - started }
    }
    for (let i = 0; i < 8; i++) {
      const [a, b, c] = await Promise.all([timed(open), timed(closed), timed(local)])
      for (const { ms } of [a!, b!, c!]) expect(ms).toBeLessThan(DECIDED_WITHIN_MS)
      expect(a!.decision).toMatchObject({ allowed: true, source: 'open' })
      expect(b!.decision).toMatchObject({ allowed: false, source: 'closed', retryAfterMs: 1000 })
      expect(c!.decision.source).toBe('local')
      // local holds limit / instances = 5 per process.
      expect(c!.decision.allowed).toBe(i < 5)
    }
    expect(open.stats().storeErrors).toBeGreaterThanOrEqual(8)
    expect(open.stats().gate).not.toBe('closed')
    await expect(open.block('k', 1000)).rejects.toMatchObject({ code: 'E_STORE_UNAVAILABLE' })
    await expect(open.reset('k')).rejects.toMatchObject({ code: 'E_STORE_UNAVAILABLE' })

    await server.start()
    // The restarted server lost its scripts: the store must reload them (NOSCRIPT -> EVAL).
    await waitUntil(async () => (await open.consume('k2')).source === 'redis', {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'Redis decisions again',
    })
    await waitUntil(async () => (await local.consume('k2')).source === 'redis', {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'Redis decisions again',
    })
    expect(open.stats().gate).toBe('closed')
    // State written before the outage was lost with the server (no AOF): a fresh key counts from zero.
    const after = await local.consume('k3')
    expect(after).toMatchObject({ allowed: true, remaining: 9, source: 'redis' })
  })

  it('a connected but unresponsive Redis is timed out, not waited for', { timeout: 60_000 }, async () => {
    const limiter = make('open')
    await waitUntil(async () => (await limiter.consume('slow')).source === 'redis', {
      timeoutMs: 30_000,
      intervalMs: 50,
      what: 'Redis decisions',
    })
    const admin = new Redis(server.url)
    admin.on('error', () => {})
    const sleeping = admin.call('DEBUG', 'SLEEP', '1.5')
    await new Promise((resolve) => setTimeout(resolve, 100))
    const started = performance.now()
    const decision = await limiter.consume('slow')
    expect(performance.now() - started).toBeLessThan(DECIDED_WITHIN_MS)
    expect(decision).toMatchObject({ allowed: true, source: 'open' })
    await sleeping
    admin.disconnect()
    await waitUntil(async () => (await limiter.consume('slow')).source === 'redis', {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'Redis decisions again',
    })
  })

  it('reloads lost scripts on every send path: a lone call, one batch, batches written together', {
    timeout: 60_000,
  }, async () => {
    const fast = createRateLimiter({
      redis,
      prefix: 'noscript',
      limit: 1000,
      window: 60_000,
      timeout: 2_000,
      maxBatch: 50,
    })
    const general = createRateLimiter({
      redis,
      prefix: 'noscript-multi',
      policies: [
        { limit: 1000, window: 1000 },
        { limit: 5000, window: 60_000 },
      ],
      timeout: 2_000,
    })
    limiters.push(fast, general)
    const admin = new Redis(server.url)
    try {
      for (const limiter of [fast, general]) {
        await admin.script('FLUSH')
        expect(await limiter.consume('lone')).toMatchObject({ allowed: true, source: 'redis' })
        await admin.script('FLUSH')
        // 120 calls in one tick: one batch, or batches of at most 50 written together.
        const batchesBefore = limiter.stats().batches
        const decisions = await Promise.all(Array.from({ length: 120 }, (_, i) => limiter.consume(`k${i}`)))
        expect(decisions.every((d) => d.allowed && d.source === 'redis')).toBe(true)
        expect(limiter.stats().batches - batchesBefore).toBe(limiter === fast ? 3 : 1)
      }
    } finally {
      admin.disconnect()
    }
  })

  it('concurrency limiter falls back too, within the timeout', { timeout: 60_000 }, async () => {
    const limiter = createConcurrencyLimiter({ redis, prefix: 'fail-cl', limit: 4, instances: 2 })
    // The first call loads the script; on a busy machine it may miss 50 ms once.
    await waitUntil(
      async () => {
        const decision = await limiter.acquire('warm')
        await decision.lease?.release()
        return decision.source === 'redis'
      },
      { timeoutMs: 30_000, intervalMs: 50, what: 'a Redis lease' },
    )
    await server.stop()
    const started = performance.now()
    const first = await limiter.acquire('k')
    expect(performance.now() - started).toBeLessThan(DECIDED_WITHIN_MS)
    expect(first).toMatchObject({ allowed: true, source: 'local' })
    expect((await limiter.acquire('k')).allowed).toBe(true)
    expect((await limiter.acquire('k')).allowed).toBe(false)
    await server.start()
    await waitUntil(async () => (await limiter.acquire('k2')).source === 'redis', {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'Redis leases again',
    })
    await limiter.close()
  })
})
