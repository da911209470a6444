// Argument checks of the monitor's public methods: a bad value fails at the call
// with a TypeError that names the method, the argument and what was received.
import { AGGREGATIONS, type Aggregation } from '../history/aggregate.js'

export function assertDuration(method: string, ms: number): void {
  if (!(ms >= 0) || ms === Number.POSITIVE_INFINITY)
    throw new TypeError(`${method}: durationMs must be a finite number >= 0 (received ${String(ms)})`)
}

/** Reads recordRequest's outcome: 0 ok, 1 error, 2 dependency; anything else throws. */
export function outcomeCode(outcome: unknown): 0 | 1 | 2 {
  if (outcome === true || outcome === 'ok') return 0
  if (outcome === false || outcome === 'error') return 1
  if (outcome === 'dependency') return 2
  throw new TypeError(
    `recordRequest: outcome must be true, false, 'ok', 'error' or 'dependency' (received ${String(outcome)})`,
  )
}

/** Checks `getAggregated()`'s arguments, including a cap on the number of intervals it would build. */
export function assertAggregatedArguments(
  aggregation: Aggregation,
  intervalMs: number,
  from: number,
  to: number,
): void {
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
