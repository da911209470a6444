import type { Logger } from '@headroom/core'
import { requestPathRedisOptions } from '@headroom/core'
import { type RedisServer, redisAvailable, startRedisServer, waitUntil } from '@headroom/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Cache, createCache } from '../src/index.js'

const SOFT = 100
const HARD = 10_000

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
      timeout: { soft: SOFT, hard: HARD },
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
    // Under heavy machine load a 50 ms command can time out before the outage; then the
    // gate may already be open and the outage warning was logged then.
    const gateOpenBefore = cache.stats().l2.state !== 'closed'
    const warningsBefore = warnings.length
    await server.stop()

    // The refresh of `a` hangs until the loop is over: each answer below must come from the
    // soft timeout (stale value served), never from the factory or the hard timeout (10 s).
    // Nothing here is held to the soft timeout's 100 ms: the machine is shared and noisy.
    let release!: () => void
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    const hangingFactory = () => released.then(() => 'a2')
    const failing = async (): Promise<string> => {
      throw new Error('database down too')
    }
    for (let i = 0; i < 20; i++) {
      const values = await Promise.all([
        cache.getOrSet('a', i % 2 === 0 ? hangingFactory : failing),
        cache.getOrSet('b', failing),
        cache.get('b'),
      ])
      expect(values).toEqual(['a1', 'b1', 'b1'])
    }
    expect(cache.stats().factory.hardTimeouts).toBe(0)
    // Once the factory answers, its value reaches L1 although Redis is still down.
    release()
    await waitUntil(async () => (await cache.getOrSet('a', failing)) === 'a2', {
      timeoutMs: 10_000,
      what: 'the background refresh to land in L1',
    })
    // A key never seen has no stale value: the factory result is still served.
    expect(await cache.getOrSet('fresh', () => 'computed')).toBe('computed')
    expect(cache.stats().l2.state).not.toBe('closed')
    const outageWarnings = warnings.slice(warningsBefore).filter((w) => w.includes('Redis unavailable'))
    expect(outageWarnings).toHaveLength(gateOpenBefore ? 0 : 1)

    await server.start()
    // Recovery: the failure gate probes, writes reach Redis again.
    await waitUntil(
      async () => {
        await cache.set('after', 'back').catch(() => {})
        return (await direct.get('{outage:after}').catch(() => null)) !== null
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'writes to reach the restarted Redis' },
    )
    await waitUntil(() => cache.stats().l2.state === 'closed', { timeoutMs: 20_000, what: 'gate closed' })
    expect(infos.some((line) => line.includes('reachable again'))).toBe(true)
    // The bus reconnected too, and flushed L1 (messages may have been missed meanwhile).
    await waitUntil(() => cache.stats().bus.reconnects >= 1, { timeoutMs: 20_000, what: 'bus reconnect' })
    expect(unhandled).toEqual([])
  })
})
