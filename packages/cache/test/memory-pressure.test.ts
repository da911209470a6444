import { createManualClock } from '@headroom/core'
import { createMemoryGauge } from '@headroom/health'
import { afterEach, describe, expect, it } from 'vitest'
import { type Cache, createCache } from '../src/index.js'

const caches: Cache[] = []
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()))
})

describe('memory pressure: the cache sheds L1 on its own', () => {
  it('sheds a bounded share of L1 per tick once RSS passes the threshold of a small configured limit', async () => {
    const rssAtStart = process.memoryUsage.rss()
    // The limit sits 100 MB above this process' RSS: pressure starts well below 0.9.
    const gauge = createMemoryGauge({ memoryLimitBytes: rssAtStart + 100 * 2 ** 20 })
    const clock = createManualClock(0)
    const cache = createCache({
      prefix: 'mp',
      clock,
      l1: { max: 100_000 },
      memoryPressure: {
        signal: () => gauge.ratio(),
        threshold: 0.9,
        intervalMs: 1000,
        fraction: 0.25,
        maxPerTick: 300,
      },
    })
    caches.push(cache)
    for (let i = 0; i < 2000; i++) await cache.set(`k${i}`, { i, text: 'x'.repeat(100) })
    clock.advance(1000)
    expect(gauge.ratio()).toBeLessThan(0.9)
    expect(cache.stats().l1.size).toBe(2000)

    // Drive RSS past the limit: written (not only reserved) buffers, so the pages are resident.
    const ballast: Buffer[] = []
    for (let i = 0; i < 12; i++) ballast.push(Buffer.allocUnsafe(10 * 2 ** 20).fill(i + 1))
    expect(gauge.ratio()).toBeGreaterThanOrEqual(0.9)

    clock.advance(1000)
    // One tick: a quarter of 2000 is 500, capped at maxPerTick.
    expect(cache.stats().l1).toMatchObject({ size: 1700, shed: 300, evictions: 0 })
    clock.advance(1000)
    expect(cache.stats().l1.size).toBe(1400)
    // The least recently used went first.
    expect(cache.peek('k0')).toBeUndefined()
    expect(cache.peek('k1999')).toMatchObject({ i: 1999 })
    // A share of what is left each tick: it goes on until pressure ends or L1 is empty.
    for (let i = 0; i < 60; i++) clock.advance(1000)
    expect(cache.stats().l1.size).toBe(0)
    expect(ballast.length).toBe(12)
    ballast.length = 0
    gauge.close()
  })

  it('does nothing below the threshold, survives a throwing signal, and stops at close()', async () => {
    const clock = createManualClock(0)
    let pressure = 0.5
    const cache = createCache({
      prefix: 'mp',
      clock,
      memoryPressure: {
        signal: () => {
          if (Number.isNaN(pressure)) throw new Error('no reading')
          return pressure
        },
      },
    })
    for (let i = 0; i < 100; i++) await cache.set(`k${i}`, i)
    clock.advance(5000)
    expect(cache.stats().l1.size).toBe(100)
    pressure = Number.NaN
    clock.advance(5000)
    expect(cache.stats().l1.size).toBe(100)
    pressure = 0.95
    clock.advance(1000)
    expect(cache.stats().l1.size).toBe(90)
    await cache.close()
    clock.advance(10_000)
    expect(cache.stats().l1.size).toBe(90)
  })

  it('refuses a memoryPressure without a signal, naming the option', () => {
    expect(() => createCache({ prefix: 'mp', memoryPressure: { threshold: 0.8 } as never })).toThrow(
      /memoryPressure\.signal/,
    )
    expect(() => createCache({ prefix: 'mp', memoryPressure: { signal: () => 0, threshold: 2 } })).toThrow(
      /memoryPressure\.threshold/,
    )
  })
})
