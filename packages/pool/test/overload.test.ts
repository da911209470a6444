// The limiter with its defaults under sustained overload, on a simulated backend driven by
// a manual clock: capacity servers behind a FIFO queue, noisy (lognormal) service times,
// open-loop arrivals well above what the backend sustains.
import type { ManualClock } from '@headroom/core'
import { describe, expect, it } from 'vitest'
import { createAdaptiveLimiter } from '../src/index.js'
import { completedPerSec, inBand, p99, settledAt, simulate, summary } from './simulated-backend.js'

/** The pool's max: the limit a static configuration would use. */
const POOL_MAX = 100
const SERVICE_MS = 20
const throughputOf = (capacity: number) => (capacity / SERVICE_MS) * 1000

const adaptive = (clock: ManualClock) => createAdaptiveLimiter({ max: POOL_MAX, clock })

// Each simulation plays about a million events: minutes of CPU on a busy shared host.
describe('the default limiter under sustained overload (simulated backend, manual clock)', {
  timeout: 240_000,
}, () => {
  it.each([
    { capacity: 10, load: 1.5, seed: 1 },
    { capacity: 10, load: 3, seed: 2 },
    { capacity: 4, load: 10, seed: 3 },
    { capacity: 40, load: 2, seed: 4 },
  ])(
    'settles within 0.6x-2x of a capacity of $capacity at $load x its throughput and stays there',
    async ({ capacity, load, seed }) => {
      const result = await simulate((clock) => adaptive(clock), {
        capacity: () => capacity,
        serviceMs: SERVICE_MS,
        noise: 0.5,
        ratePerSec: () => load * throughputOf(capacity),
        durationMs: 60_000,
        seed,
      })
      const settled = settledAt(result)
      expect(settled, summary(result)).toBeDefined()
      expect(settled!, summary(result)).toBeLessThan(10_000)
      // The message shows the limit's min/median/max per 10 s when it fails.
      expect(inBand(result, settled!), summary(result)).toBeGreaterThanOrEqual(0.9)
    },
  )

  it('falls within seconds when the capacity halves, and stays in the new band', async () => {
    const result = await simulate((clock) => adaptive(clock), {
      capacity: (t) => (t < 20_000 ? 20 : 10),
      serviceMs: SERVICE_MS,
      noise: 0.5,
      ratePerSec: () => 2 * throughputOf(20),
      durationMs: 60_000,
      seed: 5,
    })
    const after = settledAt(result, 20_000)
    expect(after, summary(result)).toBeDefined()
    expect(after! - 20_000, summary(result)).toBeLessThan(5_000)
    expect(inBand(result, after!), summary(result)).toBeGreaterThanOrEqual(0.9)
  })

  it('rises to use at least 90 % of a capacity that doubles', async () => {
    const result = await simulate((clock) => adaptive(clock), {
      capacity: (t) => (t < 20_000 ? 10 : 20),
      serviceMs: SERVICE_MS,
      noise: 0.5,
      ratePerSec: () => 2 * throughputOf(20),
      durationMs: 60_000,
      seed: 6,
    })
    const used = completedPerSec(result, 30_000, 60_000) / throughputOf(20)
    expect(used, summary(result)).toBeGreaterThanOrEqual(0.9)
    expect(inBand(result, 30_000), summary(result)).toBeGreaterThanOrEqual(0.9)
  })

  it('gives callers at most half the p99 of a static limit at the pool max, at >= 0.9x its throughput', async () => {
    const options = {
      capacity: () => 10,
      serviceMs: SERVICE_MS,
      noise: 0.5,
      ratePerSec: () => 3 * throughputOf(10),
      durationMs: 60_000,
      seed: 7,
    }
    const fixed = await simulate(
      (clock) =>
        createAdaptiveLimiter({
          algorithm: 'aimd',
          min: POOL_MAX,
          max: POOL_MAX,
          initial: POOL_MAX,
          clock,
        }),
      options,
    )
    const adapted = await simulate((clock) => adaptive(clock), options)
    // Both measured after the first 10 s, once the adaptive limit settled.
    const ratio = {
      p99: p99(adapted, 10_000) / p99(fixed, 10_000),
      throughput: completedPerSec(adapted, 10_000, 60_000) / completedPerSec(fixed, 10_000, 60_000),
    }
    expect(
      ratio.p99,
      JSON.stringify({ fixed: p99(fixed, 10_000), adapted: p99(adapted, 10_000) }),
    ).toBeLessThanOrEqual(0.5)
    expect(ratio.throughput).toBeGreaterThanOrEqual(0.9)
  })

  it('measures the no-load RTT at low concurrency on the first load and about every 30 s', async () => {
    const probes: number[] = []
    let limiter: ReturnType<typeof createAdaptiveLimiter> | undefined
    await simulate(
      (clock) => {
        limiter = createAdaptiveLimiter({ max: POOL_MAX, clock })
        limiter.on('limit', (event) => {
          if (event.reason === 'probe') probes.push(clock.now())
        })
        return limiter
      },
      {
        capacity: () => 4,
        serviceMs: 10,
        noise: 0,
        ratePerSec: () => 3 * 400,
        durationMs: 70_000,
        seed: 8,
      },
    )
    // At start, then every 30 s +/- 15 %.
    expect(probes[0]).toBeLessThan(100)
    expect(probes.length).toBeGreaterThanOrEqual(3)
    for (let i = 1; i < probes.length; i++) {
      expect(probes[i]! - probes[i - 1]!).toBeGreaterThanOrEqual(0.85 * 30_000)
      expect(probes[i]! - probes[i - 1]!).toBeLessThanOrEqual(1.15 * 30_000 + 1_000)
    }
    // Loaded calls take 10 ms x (limit / 4); those the probe measured ran uncontended.
    expect(limiter!.stats().noLoadRtt).toBeCloseTo(10, 5)
  })
})
