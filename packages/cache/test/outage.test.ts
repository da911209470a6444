import { performance } from 'node:perf_hooks'
import type { Logger } from '@headroom/core'
import { requestPathRedisOptions } from '@headroom/core'
import { type RedisServer, redisAvailable, startRedisServer, waitUntil } from '@headroom/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Cache, createCache } from '../src/index.js'

const SOFT = 100
// The machine is a noisy, shared 2-core box: the bound is soft timeout + this margin.
const MARGIN = 400

describe.skipIf(!redisAvailable())('Redis stopped mid-run', () => {
  let server: RedisServer
  let redis: Redis
  let direct: Redis
  let cache: Cache
  const warnings: string[] = []
  const infos: string[] = []
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)
  const logger: Logger = {
    trace() {},
    debug() {},
    info: (...args: unknown[]) => infos.push(String(args.find((a) => typeof a === 'string'))),
    warn: (...args: unknown[]) => warnings.push(String(args.find((a) => typeof a === 'string'))),
    error() {},
  }
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled)
    server = await startRedisServer()
    redis = new Redis(server.url, requestPathRedisOptions)
    redis.on('error', () => {})
    direct = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 })
    direct.on('error', () => {})
    cache = createCache({
      redis,
      prefix: 'outage',
      ttl: 200,
      jitter: 0,
      grace: 60_000,
      timeout: { soft: SOFT, hard: 10_000 },
      commandTimeout: 50,
      logger,
    })
    await cache.ready
  })

  afterAll(async () => {
    await cache.close()
    redis.disconnect()
    direct.disconnect()
    await server.close()
    process.off('unhandledRejection', onUnhandled)
  })

  it('serves L1/stale within the soft timeout, logs once, and recovers', { timeout: 60_000 }, async () => {
    expect(await cache.getOrSet('a', () => 'a1')).toBe('a1')
    expect(await cache.getOrSet('b', () => 'b1', { ttl: 600_000 })).toBe('b1')
    await sleep(250) // `a` is now stale (within grace); `b` is still fresh
    await server.stop()

    const slowFactory = () => new Promise<string>((resolve) => setTimeout(() => resolve('a2'), 2_000))
    const failing = async (): Promise<string> => {
      throw new Error('database down too')
    }
    for (let i = 0; i < 20; i++) {
      const started = performance.now()
      const values = await Promise.all([
        cache.getOrSet('a', i % 2 === 0 ? slowFactory : failing),
        cache.getOrSet('b', failing),
        cache.get('b'),
      ])
      const elapsed = performance.now() - started
      expect(values).toEqual(['a1', 'b1', 'b1'])
      expect(elapsed).toBeLessThan(SOFT + MARGIN)
    }
    // A key never seen has no stale value: the factory result is still served.
    expect(await cache.getOrSet('fresh', () => 'computed')).toBe('computed')
    expect(cache.stats().l2.state).not.toBe('closed')
    expect(warnings.filter((w) => w.includes('Redis unavailable'))).toHaveLength(1)

    await server.start()
    // Recovery: the failure gate probes, writes reach Redis again.
    await waitUntil(
      async () => {
        await cache.set('after', 'back').catch(() => {})
        return (await direct.get('{outage:after}').catch(() => null)) !== null
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'writes to reach the restarted Redis' },
    )
    expect(cache.stats().l2.state).toBe('closed')
    expect(infos.some((line) => line.includes('reachable again'))).toBe(true)
    // The bus reconnected too, and flushed L1 (messages may have been missed meanwhile).
    await waitUntil(() => cache.stats().bus.reconnects >= 1, { timeoutMs: 20_000, what: 'bus reconnect' })
    expect(unhandled).toEqual([])
  })
})
