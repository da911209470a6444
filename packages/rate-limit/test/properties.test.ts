import { createManualClock } from '@headroom/core'
import { describeRedis } from '@headroom/testing'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type Algorithm,
  createRateLimiter,
  createRedisStore,
  type Decision,
  type RateLimiter,
} from '../src/index.js'

const T0 = 1_700_000_000_123
const EPS = 1e-6

interface Step {
  dt: number
  cost: number
}

const config = fc.record({
  limit: fc.integer({ min: 1, max: 8 }),
  window: fc.integer({ min: 50, max: 1000 }),
  burstFactor: fc.constantFrom(0.5, 1, 2),
})
const steps = fc.array(
  fc.record({ dt: fc.integer({ min: 0, max: 250 }), cost: fc.constantFrom(1, 1, 1, 2, 0.5, 0.25, 3) }),
  { minLength: 1, maxLength: 60 },
)

interface Admitted {
  t: number
  cost: number
}

/** Checks the algorithm's promise against an independent log of what was admitted. */
function checkLog(algorithm: Algorithm, log: Admitted[], limit: number, window: number, burst: number): void {
  const sumIn = (from: number, to: number) =>
    log.filter((e) => e.t >= from && e.t < to).reduce((sum, e) => sum + e.cost, 0)
  for (const { t } of log) {
    switch (algorithm) {
      case 'gcra':
      case 'token-bucket':
        // Any window of length W: at most the bucket plus what refills in W.
        expect(sumIn(t, t + window)).toBeLessThanOrEqual(limit + burst + EPS)
        break
      case 'fixed-window': {
        const start = t - (t % window)
        expect(sumIn(start, start + window)).toBeLessThanOrEqual(limit + EPS)
        expect(sumIn(t, t + window)).toBeLessThanOrEqual(2 * limit + EPS)
        break
      }
      case 'sliding-log':
        // Exact: no window of length W, wherever it starts, holds more than the limit.
        expect(sumIn(t, t + window)).toBeLessThanOrEqual(limit + EPS)
        break
      case 'sliding-window': {
        const start = t - (t % window)
        const current = sumIn(start, t + 1)
        const previous = sumIn(start - window, start)
        const estimate = (previous * (window - (t - start))) / window + current
        expect(estimate).toBeLessThanOrEqual(limit + EPS)
        expect(sumIn(t, t + window)).toBeLessThanOrEqual(2 * limit + EPS)
        break
      }
    }
  }
}

async function runScenario(
  algorithm: Algorithm,
  make: (clock: ReturnType<typeof createManualClock>, burst: number) => RateLimiter,
  { limit, window, burstFactor }: { limit: number; window: number; burstFactor: number },
  plan: Step[],
): Promise<void> {
  const clock = createManualClock(T0)
  const burst =
    algorithm === 'gcra' || algorithm === 'token-bucket' ? Math.max(1, limit * burstFactor) : limit
  const limiter = make(clock, burst)
  const log: Admitted[] = []
  try {
    for (const { dt, cost } of plan) {
      clock.advance(dt)
      const decision = await limiter.consume('k', { cost })
      if (decision.allowed) {
        log.push({ t: clock.now(), cost })
        continue
      }
      if (!Number.isFinite(decision.retryAfterMs)) {
        expect(cost).toBeGreaterThan(algorithm === 'gcra' || algorithm === 'token-bucket' ? burst : limit)
        continue
      }
      expect(decision.retryAfterMs).toBeGreaterThanOrEqual(1)
      // retryAfterMs is exact: 1 ms earlier still fails (GCRA, fixed window), at it the retry succeeds.
      if (algorithm === 'gcra' || algorithm === 'fixed-window' || algorithm === 'sliding-log') {
        clock.advance(decision.retryAfterMs - 1)
        expect((await limiter.peek('k', { cost })).allowed).toBe(false)
        clock.advance(1)
      } else clock.advance(decision.retryAfterMs)
      const retry: Decision = await limiter.consume('k', { cost })
      expect(retry.allowed).toBe(true)
      log.push({ t: clock.now(), cost })
    }
    checkLog(algorithm, log, limit, window, burst)
  } finally {
    await limiter.close()
  }
}

const algorithms: Algorithm[] = ['gcra', 'token-bucket', 'fixed-window', 'sliding-window', 'sliding-log']

describe('algorithm properties [memory]', () => {
  for (const algorithm of algorithms) {
    it(`${algorithm}: never admits more than allowed, retryAfterMs is exact`, async () => {
      await fc.assert(
        fc.asyncProperty(config, steps, (cfg, plan) =>
          runScenario(
            algorithm,
            (clock, burst) =>
              createRateLimiter({
                algorithm,
                limit: cfg.limit,
                window: cfg.window,
                burst,
                clock,
                blockedCache: false,
              }),
            cfg,
            plan,
          ),
        ),
        { numRuns: 150 },
      )
    })
  }
})

describeRedis('algorithm properties', (target) => {
  const redis = target.client()
  const prefix = target.prefix('rlp')
  let n = 0
  for (const [algorithm, general] of algorithms.flatMap(
    (a) =>
      [
        [a, false],
        [a, true],
      ] as const,
  )) {
    it(`${algorithm}: Redis decides exactly as memory does (${general ? 'general script only' : 'default scripts'})`, async () => {
      await fc.assert(
        fc.asyncProperty(config, steps, async (cfg, plan) => {
          const clock = createManualClock(T0)
          const burst =
            algorithm === 'gcra' || algorithm === 'token-bucket'
              ? Math.max(1, cfg.limit * cfg.burstFactor)
              : cfg.limit
          const options = {
            algorithm,
            limit: cfg.limit,
            window: cfg.window,
            burst,
            clock,
            blockedCache: false as const,
          }
          const memory = createRateLimiter(options)
          const store = createRedisStore({
            redis,
            prefix: `${prefix}:${++n}`,
            time: 'client',
            timeoutMs: 5_000,
            clock,
            generalScriptOnly: general,
          })
          const remote = createRateLimiter({ ...options, store })
          try {
            for (const { dt, cost } of plan) {
              clock.advance(dt)
              const [a, b] = await Promise.all([memory.consume('k', { cost }), remote.consume('k', { cost })])
              expect({ ...b, source: 'memory' }).toEqual(a)
              // Peek too: the batch script, on the same state.
              const [c, d] = await Promise.all([memory.peek('k', { cost }), remote.peek('k', { cost })])
              expect({ ...d, source: 'memory' }).toEqual(c)
              // And the boundaries, where an off-by-one would show: 1 ms before the retry, and at it.
              if (!a.allowed && Number.isFinite(a.retryAfterMs)) {
                for (const step of [a.retryAfterMs - 1, 1]) {
                  clock.advance(step)
                  const [e, f] = await Promise.all([
                    memory.consume('k', { cost }),
                    remote.consume('k', { cost }),
                  ])
                  expect({ ...f, source: 'memory' }).toEqual(e)
                }
              }
            }
          } finally {
            await Promise.all([memory.close(), remote.close()])
          }
        }),
        { numRuns: 8 },
      )
    })
  }

  it('GCRA on the Redis clock: retrying after retryAfterMs succeeds', async () => {
    const limiter = createRateLimiter({
      redis,
      prefix: `${prefix}:server`,
      // One unit every 2 s: the six calls below are refused on a loaded machine too.
      limit: 5,
      window: 10_000,
      timeout: 5_000,
      blockedCache: false,
    })
    try {
      for (let i = 0; i < 5; i++) expect((await limiter.consume('k')).allowed).toBe(true)
      const refused = await limiter.consume('k')
      expect(refused.allowed).toBe(false)
      expect(refused.retryAfterMs).toBeGreaterThan(0)
      expect(refused.retryAfterMs).toBeLessThanOrEqual(2_000)
      await new Promise((resolve) => setTimeout(resolve, refused.retryAfterMs + 2))
      expect((await limiter.consume('k')).allowed).toBe(true)
    } finally {
      await limiter.close()
    }
  })
})
