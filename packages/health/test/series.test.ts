import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { aggregate } from '../src/history/aggregate.js'
import { createSeries, type MetricPoint } from '../src/history/series.js'

describe('series ring buffer', () => {
  it('property: keeps exactly the last `capacity` points, oldest first', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { maxLength: 200 }),
        (capacity, values) => {
          const series = createSeries(capacity)
          values.forEach((value, i) => {
            series.push(i, value, i % 2 === 0)
          })
          const seen: MetricPoint[] = []
          series.forEach(0, Number.POSITIVE_INFINITY, (point) => seen.push(point))
          const expected = values.slice(-capacity)
          expect(seen.map((point) => point.value)).toEqual(expected)
          expect(series.size).toBe(expected.length)
          const firstIndex = values.length - expected.length
          seen.forEach((point, i) => {
            expect(point.timestamp).toBe(firstIndex + i)
            expect(point.ok).toBe((firstIndex + i) % 2 === 0)
          })
        },
      ),
    )
  })

  it('labels are kept per point and cleared when overwritten', () => {
    const series = createSeries(2)
    series.push(1, 1, undefined, { a: 'x' })
    series.push(2, 2)
    series.push(3, 3)
    const seen: MetricPoint[] = []
    series.forEach(0, 10, (point) => seen.push(point))
    expect(seen).toEqual([
      { timestamp: 2, value: 2 },
      { timestamp: 3, value: 3 },
    ])
  })
})

describe('aggregate', () => {
  it('property: counts add up to the points in range and each value is what a sort says', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            timestamp: fc.integer({ min: 0, max: 9999 }),
            value: fc.integer({ min: 0, max: 1000 }),
          }),
          {
            maxLength: 300,
          },
        ),
        fc.integer({ min: 50, max: 3000 }),
        (points, intervalMs) => {
          const buckets = aggregate(points, 0, 10_000, 'count', intervalMs)
          expect(buckets.reduce((sum, bucket) => sum + (bucket.value ?? 0), 0)).toBe(points.length)
          const maxima = aggregate(points, 0, 10_000, 'max', intervalMs)
          const p50 = aggregate(points, 0, 10_000, 'p50', intervalMs)
          maxima.forEach((bucket, i) => {
            const inside = points
              .filter((point) => point.timestamp >= bucket.start && point.timestamp < bucket.end)
              .map((point) => point.value)
              .sort((a, b) => a - b)
            expect(bucket.count).toBe(inside.length)
            expect(bucket.value).toBe(inside.length ? inside.at(-1) : null)
            expect(p50[i]?.value).toBe(inside.length ? inside[Math.ceil(inside.length / 2) - 1] : null)
          })
        },
      ),
    )
  })
})
