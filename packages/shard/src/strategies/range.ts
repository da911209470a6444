import { parseOptions } from '@headroom/core'
import { z } from 'zod'
import { NoShardError } from '../shared/errors.js'
import { fnSchema, optionsSchema } from '../shared/options.js'
import { indexOfShard, type ShardStrategy } from './strategy.js'

/** A point in time (or any number) a range starts or ends at. */
export type RangeBound = Date | number | string

/** One range: keys in `[from, to)` go to `shard`. */
export interface RangeSpec {
  from: RangeBound
  /** Exclusive end. @default the next range's `from`, or no end for the last range */
  to?: RangeBound
  shard: string
}

/** Options of {@link rangeStrategy}. */
export interface RangeStrategyOptions<K> {
  /** Non-overlapping ranges, in any order. Gaps are allowed (see `fallback`). */
  ranges: readonly RangeSpec[]
  /** The shard of keys that fall in no range; without it they throw {@link NoShardError}. @default undefined */
  fallback?: string
  /**
   * The number a key is compared by.
   * @default Dates by time, numbers as they are, strings by `Date.parse`
   */
  toValue?: (key: K) => number
}

function toNumber(bound: RangeBound): number {
  if (bound instanceof Date) return bound.getTime()
  if (typeof bound === 'number') return bound
  return Date.parse(bound)
}

function defaultValue(key: unknown): number {
  if (key instanceof Date || typeof key === 'number' || typeof key === 'string') return toNumber(key)
  return Number.NaN
}

const boundSchema = z.union([z.date(), z.number(), z.string()], {
  error: 'expected a date, a number or a string',
})

const rangeOptionsSchema = optionsSchema<
  RangeStrategyOptions<unknown>,
  Required<Omit<RangeStrategyOptions<unknown>, 'fallback'>> & Pick<RangeStrategyOptions<unknown>, 'fallback'>
>()(
  z.object({
    ranges: z
      .array(
        z.object({
          from: boundSchema,
          to: boundSchema.optional(),
          shard: z.string().min(1, 'expected a shard id'),
        }),
      )
      .min(1, 'expected at least one range'),
    fallback: z.string().min(1, 'expected a shard id').optional(),
    toValue: fnSchema<(key: unknown) => number>().default(() => defaultValue),
  }),
)

/**
 * Range sharding, e.g. one shard per quarter: a key (a date) goes to the shard whose
 * range holds it. Binary search, no allocation.
 *
 * @example
 * const router = createShardRouter({
 *   shards: [{ id: '2025q1', primary: q1 }, { id: '2025q2', primary: q2 }],
 *   strategy: rangeStrategy({ ranges: [
 *     { from: '2025-01-01', shard: '2025q1' },
 *     { from: '2025-04-01', to: '2025-07-01', shard: '2025q2' },
 *   ] }),
 * })
 * router.shardFor(new Date('2025-05-02')).id // '2025q2'
 */
export function rangeStrategy<K = Date | number | string>(input: RangeStrategyOptions<K>): ShardStrategy<K> {
  const options = parseOptions('rangeStrategy', rangeOptionsSchema, input)
  const sorted = options.ranges
    .map((range, index) => {
      const from = toNumber(range.from)
      if (Number.isNaN(from))
        throw new TypeError(
          `Invalid rangeStrategy option "ranges.${index}.from": expected a date or number (received ${JSON.stringify(range.from)})`,
        )
      const to = range.to === undefined ? undefined : toNumber(range.to)
      if (to !== undefined && !(to > from))
        throw new TypeError(
          `Invalid rangeStrategy option "ranges.${index}.to": expected a bound after "from" (received ${JSON.stringify(range.to)})`,
        )
      return { from, to, shard: range.shard }
    })
    .sort((a, b) => a.from - b.from)
  const froms = new Float64Array(sorted.length)
  const tos = new Float64Array(sorted.length)
  sorted.forEach((range, i) => {
    const next = sorted[i + 1]
    const to = range.to ?? next?.from ?? Number.POSITIVE_INFINITY
    if (next && to > next.from)
      throw new TypeError(
        `Invalid rangeStrategy option "ranges": the range for "${range.shard}" overlaps the one for "${next.shard}"`,
      )
    froms[i] = range.from
    tos[i] = to
  })
  const toValue = options.toValue as (key: K) => number
  return {
    kind: 'range',
    bind({ ids }) {
      const targets = Int32Array.from(sorted, (r) => indexOfShard(ids, r.shard, 'rangeStrategy'))
      const fallback =
        options.fallback === undefined ? -1 : indexOfShard(ids, options.fallback, 'rangeStrategy fallback')
      return (key) => {
        const value = toValue(key)
        // The last range starting at or before the value.
        let lo = 0
        let hi = froms.length - 1
        let found = -1
        while (lo <= hi) {
          const mid = (lo + hi) >> 1
          if (froms[mid]! <= value) {
            found = mid
            lo = mid + 1
          } else hi = mid - 1
        }
        if (found >= 0 && value < tos[found]!) return targets[found]!
        if (fallback >= 0) return fallback
        throw new NoShardError(
          `No range holds ${key instanceof Date ? key.toISOString() : String(key)} and rangeStrategy has no fallback`,
        )
      }
    },
  }
}
