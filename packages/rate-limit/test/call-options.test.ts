import { describeRedis } from '@headroom/testing'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type ConsumeOptions,
  createConcurrencyLimiter,
  createRateLimiter,
  type RateLimiter,
} from '../src/index.js'

const limiters: RateLimiter[] = []
afterEach(async () => {
  await Promise.all(limiters.splice(0).map((l) => l.close()))
})
const track = (limiter: RateLimiter) => {
  limiters.push(limiter)
  return limiter
}

/** Calls a user could write by mistake: a bare cost, a typo, an array, a misspelt option. */
function callsWithBadOptions(limiter: RateLimiter) {
  const bad = (value: unknown) => value as ConsumeOptions
  return [
    { call: () => limiter.consume('k', bad(5)), error: /consume\(key, \{ cost, limit \}\).*received 5/ },
    { call: () => limiter.peek('k', bad('2')), error: /peek\(key, \{ cost, limit \}\).*received "2"/ },
    { call: () => limiter.refund('k', bad(null)), error: /refund\(key, \{ cost, limit \}\).*received null/ },
    {
      call: () => limiter.consume('k', bad([1])),
      error: /consume\(key, \{ cost, limit \}\).*received \[1\]/,
    },
    { call: () => limiter.consume('k', bad({ costs: 2 })), error: /Unknown option "costs".*cost, limit/ },
    { call: () => limiter.consume('k', bad({ cost: 1, ttl: 5 })), error: /Unknown option "ttl"/ },
    { call: () => limiter.consume('k', bad({ cost: -1 })), error: /"cost".*received -1/ },
  ]
}

describe('per-call options', () => {
  for (const [name, make] of [
    ['memory, one policy', () => createRateLimiter({ limit: 5, window: '1m' })],
    [
      'memory, two policies',
      () =>
        createRateLimiter({
          policies: [
            { limit: 5, window: '1m' },
            { limit: 50, window: '1h' },
          ],
        }),
    ],
  ] as const) {
    it(`refuses a bad shape or an unknown key with a TypeError naming the right shape (${name})`, async () => {
      const limiter = track(make())
      for (const { call, error } of callsWithBadOptions(limiter)) {
        await expect(call()).rejects.toThrow(TypeError)
        await expect(call()).rejects.toThrow(error)
      }
      // Nothing was consumed by the refused calls.
      expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 4 })
      // Explicit undefined values stay accepted (the middleware passes { cost, limit: undefined }).
      expect(await limiter.consume('k', { cost: 1, limit: undefined })).toMatchObject({ allowed: true })
    })
  }
})

describe('concurrency limiter per-call options', () => {
  it('acquire refuses a bare number or an unknown key, naming acquire(key, { limit })', async () => {
    const limiter = createConcurrencyLimiter({ limit: 2 })
    await expect(limiter.acquire('k', 3 as unknown as { limit: number })).rejects.toThrow(
      /acquire\(key, \{ limit \}\).*received 3/,
    )
    await expect(limiter.acquire('k', { limt: 3 } as unknown as { limit: number })).rejects.toThrow(
      /unknown option "limt"/,
    )
    expect((await limiter.acquire('k')).active).toBe(1)
    await limiter.close()
  })
})

describeRedis('per-call options on Redis', (target) => {
  it('refuses a bad shape or an unknown key before any round trip', async () => {
    const limiter = track(
      createRateLimiter({
        redis: target.client(),
        prefix: target.prefix('opts'),
        limit: 5,
        window: '1m',
        timeout: 2000,
      }),
    )
    for (const { call, error } of callsWithBadOptions(limiter)) await expect(call()).rejects.toThrow(error)
    expect(limiter.stats().batches).toBe(0)
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 4, source: 'redis' })
  })
})
