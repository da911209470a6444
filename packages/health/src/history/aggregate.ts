import type { MetricFilter, MetricPoint } from './series.js'

/** How {@link aggregate} reduces the points of one interval. */
export type Aggregation = 'avg' | 'sum' | 'min' | 'max' | 'count' | 'p50' | 'p90' | 'p95' | 'p99' | 'rate'

/** One interval of an aggregated series. `value` is null when no point fell in it (except for count/sum/rate: 0). */
export interface AggregatedPoint {
  /** Start of the interval (inclusive), ms since the epoch. */
  start: number
  /** End of the interval (exclusive). */
  end: number
  value: number | null
  /** Points in the interval. */
  count: number
}

export const AGGREGATIONS: readonly Aggregation[] = [
  'avg',
  'sum',
  'min',
  'max',
  'count',
  'p50',
  'p90',
  'p95',
  'p99',
  'rate',
]

/** The nearest-rank percentile of sorted values. */
function percentile(sorted: number[], q: number): number {
  const rank = Math.max(1, Math.ceil(q * sorted.length))
  return sorted[rank - 1]!
}

function reduce(values: number[], how: Aggregation, intervalMs: number): number | null {
  if (how === 'count') return values.length
  if (how === 'rate') return (values.length * 1000) / intervalMs
  let sum = 0
  for (const value of values) sum += value
  if (how === 'sum') return sum
  if (values.length === 0) return null
  switch (how) {
    case 'avg':
      return sum / values.length
    case 'min': {
      let min = values[0]!
      for (const value of values) if (value < min) min = value
      return min
    }
    case 'max': {
      let max = values[0]!
      for (const value of values) if (value > max) max = value
      return max
    }
    default: {
      const sorted = [...values].sort((a, b) => a - b)
      return percentile(sorted, Number(how.slice(1)) / 100)
    }
  }
}

/** What `getAggregated()` asks for: the range, the reduction and the interval. */
export interface AggregateQuery {
  from: number
  to: number
  aggregation: Aggregation
  intervalMs: number
  filter?: MetricFilter | undefined
}

/** Checks a query, including a cap on the number of intervals it would build. */
export function assertAggregateQuery({ aggregation, intervalMs, from, to }: AggregateQuery): void {
  if (!AGGREGATIONS.includes(aggregation))
    throw new TypeError(
      `getAggregated: aggregation must be one of ${AGGREGATIONS.join(', ')} (received ${String(aggregation)})`,
    )
  if (!(intervalMs > 0) || !Number.isFinite(intervalMs))
    throw new TypeError(
      `getAggregated: intervalMs must be a positive number (received ${String(intervalMs)})`,
    )
  if (!Number.isFinite(from) || !Number.isFinite(to) || to < from)
    throw new TypeError(`getAggregated: from and to must be finite with from <= to (received ${from}, ${to})`)
  if ((to - from) / intervalMs > 100_000)
    throw new TypeError(`getAggregated: more than 100000 intervals requested; use a larger intervalMs`)
}

/**
 * Buckets points into consecutive intervals of `intervalMs` starting at `from`
 * (the last one is cut at `to`) and reduces each one; `rate` is points per second.
 */
export function aggregate(
  points: readonly MetricPoint[],
  from: number,
  to: number,
  how: Aggregation,
  intervalMs: number,
): AggregatedPoint[] {
  const buckets = Math.max(0, Math.ceil((to - from) / intervalMs))
  const values: number[][] = Array.from({ length: buckets }, () => [])
  for (const point of points) {
    const index = Math.floor((point.timestamp - from) / intervalMs)
    if (index >= 0 && index < buckets) values[index]!.push(point.value)
  }
  return values.map((bucket, i) => {
    const start = from + i * intervalMs
    const end = Math.min(to, start + intervalMs)
    return { start, end, value: reduce(bucket, how, end - start), count: bucket.length }
  })
}
