import { createManualClock } from '@headroom/core'
import { describeRedis } from '@headroom/testing'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Algorithm, createRateLimiter, createRedisStore, type RateLimiter } from '../src/index.js'

const MINUTE = 60_000
const WINDOW = 15 * MINUTE
/** A time aligned to the 15-minute windows of the counter algorithms. */
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % WINDOW)

/** The most units admitted in any window of length `window`: the max is reached at a window starting at an admission. */
function busiestWindow(log: { t: number; cost: number }[], window: number): number {
  let most = 0
  for (const { t } of log) {
    const sum = log.filter((e) => e.t >= t && e.t < t + window).reduce((s, e) => s + e.cost, 0)
    if (sum > most) most = sum
  }
  return most
}

/** Failed logins bunched at the end of one window and late in the next. */
async function loginBurst(algorithm: Algorithm): Promise<number> {
  const clock = createManualClock(T0)
  const limiter = createRateLimiter({ algorithm, limit: 5, window: '15m', clock, blockedCache: false })
  const admitted: { t: number; cost: number }[] = []
  const attempt = async (times: number) => {
    for (let i = 0; i < times; i++)
      if ((await limiter.consume('alice@example.com')).allowed) admitted.push({ t: clock.now(), cost: 1 })
  }
  clock.advance(WINDOW - 1) // the last millisecond of the first window
  await attempt(5)
  clock.advance(1 + 0.9 * WINDOW) // 13.5 minutes into the next one
  await attempt(5)
  await limiter.close()
  return busiestWindow(admitted, WINDOW)
}

describe('sliding-log: the exact limit for failed logins', () => {
  it('5 per 15 minutes admits 5 in the busiest 15 minutes; sliding-window lets 9 through', async () => {
    expect(await loginBurst('sliding-window')).toBe(9)
    expect(await loginBurst('sliding-log')).toBe(5)
  })

  it('never admits more than the limit in any rolling window, and retryAfterMs is exact (fast-check, injected clock)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 10, max: 2000 }),
        fc.array(
          fc.record({ dt: fc.integer({ min: 0, max: 400 }), cost: fc.constantFrom(1, 1, 1, 2, 0.5, 0.3) }),
          { minLength: 1, maxLength: 80 },
        ),
        async (limit, window, steps) => {
          const clock = createManualClock(T0)
          const limiter = createRateLimiter({
            algorithm: 'sliding-log',
            limit,
            window,
            clock,
            blockedCache: false,
          })
          const admitted: { t: number; cost: number }[] = []
          for (const { dt, cost } of steps) {
            clock.advance(dt)
            const decision = await limiter.consume('k', { cost })
            if (decision.allowed) admitted.push({ t: clock.now(), cost })
            else if (Number.isFinite(decision.retryAfterMs)) {
              clock.advance(decision.retryAfterMs - 1)
              expect((await limiter.peek('k', { cost })).allowed).toBe(false)
              clock.advance(1)
              expect((await limiter.consume('k', { cost })).allowed).toBe(true)
              admitted.push({ t: clock.now(), cost })
            } else expect(cost).toBeGreaterThan(limit)
          }
          await limiter.close()
          expect(busiestWindow(admitted, window)).toBeLessThanOrEqual(limit + 1e-6)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('a refund gives back the newest units (skipSuccessfulRequests)', async () => {
    const clock = createManualClock(T0)
    const limiter = createRateLimiter({ algorithm: 'sliding-log', limit: 2, window: 1000, clock })
    await limiter.consume('k')
    clock.advance(100)
    await limiter.consume('k')
    expect((await limiter.refund('k')).remaining).toBe(1)
    // Only the first unit is left: it leaves the window at T0 + 1000.
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 0 })
    const refused = await limiter.consume('k')
    expect(refused).toMatchObject({ allowed: false, retryAfterMs: 900 })
    await limiter.close()
  })
})

describeRedis('sliding-log on Redis', (target) => {
  it('two instances sharing a prefix never admit more than the limit in any rolling window (fast-check)', async () => {
    const redis = target.client()
    const prefix = target.prefix('slog')
    let run = 0
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(
          fc.record({
            dt: fc.integer({ min: 0, max: 300 }),
            instance: fc.constantFrom(0, 1),
            cost: fc.constantFrom(1, 1, 2, 0.5),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        async (limit, steps) => {
          const clock = createManualClock(T0)
          const runPrefix = `${prefix}:${++run}`
          const make = () =>
            createRateLimiter({
              algorithm: 'sliding-log',
              limit,
              window: 1000,
              clock,
              blockedCache: false,
              store: createRedisStore({ redis, prefix: runPrefix, time: 'client', clock, timeoutMs: 5000 }),
            })
          const instances: RateLimiter[] = [make(), make()]
          const admitted: { t: number; cost: number }[] = []
          for (const { dt, instance, cost } of steps) {
            clock.advance(dt)
            const decision = await instances[instance]!.consume('user', { cost })
            expect(decision.source).toBe('redis')
            if (decision.allowed) admitted.push({ t: clock.now(), cost })
          }
          // Bounded state: at most `limit` entries (integer costs) or ceil(limit) after merging.
          const raw = (await redis.get(`{${runPrefix}:user}:default`)) ?? ''
          const entries = raw.trim() === '' ? 0 : raw.trim().split(' ').length / 2
          expect(entries).toBeLessThanOrEqual(Math.ceil(limit))
          await Promise.all(instances.map((l) => l.close()))
          expect(busiestWindow(admitted, 1000)).toBeLessThanOrEqual(limit + 1e-6)
        },
      ),
      { numRuns: 15 },
    )
  })

  it('decides in one round trip on the Redis clock, with several policies all or nothing', async () => {
    const limiter = createRateLimiter({
      redis: target.client(),
      prefix: target.prefix('slog1'),
      policies: [
        { name: 'login', algorithm: 'sliding-log', limit: 5, window: '15m' },
        { name: 'daily', algorithm: 'fixed-window', limit: 20, window: '1d' },
      ],
      timeout: 2000,
    })
    for (let i = 0; i < 5; i++) {
      const before = limiter.stats().batches
      expect(await limiter.consume('bob')).toMatchObject({ allowed: true, remaining: 4 - i, source: 'redis' })
      expect(limiter.stats().batches - before).toBe(1)
    }
    const refused = await limiter.consume('bob')
    expect(refused).toMatchObject({ allowed: false, policy: 'login', source: 'redis' })
    expect(refused.retryAfterMs).toBeGreaterThan(14 * MINUTE)
    // The refusal consumed nothing from the daily policy.
    expect(await limiter.peek('bob')).toMatchObject({ allowed: false, policy: 'login' })
    await limiter.close()
  })
})
