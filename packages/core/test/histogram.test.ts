import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createLatencyHistogram } from '../src/data/histogram.js'

describe('createLatencyHistogram', () => {
  it('reports percentiles within the bucket precision', () => {
    const h = createLatencyHistogram()
    for (let i = 1; i <= 1000; i++) h.record(i / 10) // 0.1 .. 100 ms
    const s = h.summary()
    expect(s.count).toBe(1000)
    expect(s.min).toBeCloseTo(0.1)
    expect(s.max).toBe(100)
    expect(s.mean).toBeCloseTo(50.05, 5)
    expect(Math.abs(s.p50 - 50) / 50).toBeLessThan(0.05)
    expect(Math.abs(s.p99 - 99) / 99).toBeLessThan(0.05)
  })

  it('keeps every quantile within 5 % of the exact one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.001, max: 100_000, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        (values, q) => {
          const h = createLatencyHistogram()
          for (const v of values) h.record(v)
          const sorted = [...values].sort((a, b) => a - b)
          const exact = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!
          expect(Math.abs(h.quantile(q) - exact) / exact).toBeLessThan(0.05)
        },
      ),
    )
  })

  it('ignores invalid samples, merges and resets', () => {
    const a = createLatencyHistogram()
    const b = createLatencyHistogram()
    a.record(Number.NaN)
    a.record(-1)
    expect(a.count).toBe(0)
    expect(a.summary().p99).toBe(0)
    a.record(1)
    b.record(3)
    a.merge(b)
    expect(a.summary()).toMatchObject({ count: 2, min: 1, max: 3, mean: 2 })
    a.reset()
    expect(a.summary().count).toBe(0)
  })
})
