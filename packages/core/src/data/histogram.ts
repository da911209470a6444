/** Sub-buckets per power of two: each bucket spans about 4.4 % of its value. */
const SUB_BUCKETS = 16
/** Values are kept in microseconds, from 1 µs to 2^36 µs (about 19 hours). */
const OCTAVES = 36
const BUCKETS = 1 + OCTAVES * SUB_BUCKETS

/** A plain snapshot of a latency distribution, in milliseconds. */
export interface LatencySummary {
  count: number
  mean: number
  min: number
  max: number
  p50: number
  p90: number
  p99: number
  p999: number
}

/** A fixed-memory latency histogram (log-linear buckets, HDR style). */
export interface LatencyHistogram {
  /** Records one duration in milliseconds; O(1), allocates nothing. */
  record(ms: number): void
  /** The value at quantile `q` (0..1), in milliseconds, within about 4.4 %. */
  quantile(q: number): number
  summary(): LatencySummary
  readonly count: number
  reset(): void
  /** Adds another histogram's counts into this one. */
  merge(other: LatencyHistogram): void
  /** The raw bucket counts (for merging and export). */
  readonly buckets: Float64Array
}

function bucketOf(ms: number): number {
  const micros = ms * 1000
  if (!(micros >= 1)) return 0
  const index = 1 + Math.floor(Math.log2(micros) * SUB_BUCKETS)
  return index < BUCKETS ? index : BUCKETS - 1
}

/** The representative value of a bucket (its geometric middle), in milliseconds. */
function bucketValue(bucket: number): number {
  if (bucket === 0) return 0
  return 2 ** ((bucket - 0.5) / SUB_BUCKETS) / 1000
}

/**
 * Creates a latency histogram of fixed size (577 buckets) that every package's
 * `stats()` uses for its percentiles.
 *
 * @example
 * const latency = createLatencyHistogram()
 * latency.record(1.7)
 * latency.summary().p99
 */
export function createLatencyHistogram(): LatencyHistogram {
  const buckets = new Float64Array(BUCKETS)
  let count = 0
  let sum = 0
  let min = Number.POSITIVE_INFINITY
  let max = 0

  const quantile = (q: number): number => {
    if (count === 0) return 0
    const rank = Math.max(1, Math.ceil(q * count))
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      seen += buckets[i]!
      if (seen >= rank) return Math.min(max, Math.max(min, bucketValue(i)))
    }
    return max
  }

  return {
    buckets,
    get count() {
      return count
    },
    record(ms) {
      if (!(ms >= 0)) return
      buckets[bucketOf(ms)]!++
      count++
      sum += ms
      if (ms < min) min = ms
      if (ms > max) max = ms
    },
    quantile,
    summary() {
      return {
        count,
        mean: count === 0 ? 0 : sum / count,
        min: count === 0 ? 0 : min,
        max,
        p50: quantile(0.5),
        p90: quantile(0.9),
        p99: quantile(0.99),
        p999: quantile(0.999),
      }
    },
    reset() {
      buckets.fill(0)
      count = 0
      sum = 0
      min = Number.POSITIVE_INFINITY
      max = 0
    },
    merge(other) {
      const summary = other.summary()
      if (summary.count === 0) return
      for (let i = 0; i < BUCKETS; i++) buckets[i]! += other.buckets[i]!
      count += summary.count
      sum += summary.mean * summary.count
      if (summary.min < min) min = summary.min
      if (summary.max > max) max = summary.max
    },
  }
}
