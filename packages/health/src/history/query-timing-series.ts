// Queries (by op and model) and named timings: each new pair or name costs a series
// and a histogram, so together they share one `maxSeries` budget and count what it refuses.
import { createLatencyHistogram, type LatencyHistogram, type LatencySummary } from '@headroom/core'
import { assertDuration, type Series } from './series.js'
import type { MetricStore } from './store.js'

export interface QueryTimingSeries {
  recordQuery(op: string, model: string, durationMs: number, ok?: boolean): void
  recordTiming(name: string, durationMs: number): void
  /** Latency summaries by `"<op> <model>"` (for stats()). */
  queries(): Record<string, { op: string; model: string; errors: number; latency: LatencySummary }>
  /** Latency summaries by timing name (for stats()). */
  timings(): Record<string, LatencySummary>
  /** Query pairs and timing names refused because `maxSeries` was reached. */
  readonly dropped: number
}

interface QueryEntry {
  op: string
  model: string
  errors: number
  histogram: LatencyHistogram
  labels: Readonly<Record<string, string>>
}

/** Adds the `query` series to `store` at once, and a `timing:<name>` series per name as names appear. */
export function createQueryTimingSeries(
  store: MetricStore,
  historySize: number,
  maxSeries: number,
  /** The monitor's request timestamp (coarse or from its clock). */
  stamp: () => number,
): QueryTimingSeries {
  const querySeries = store.add('query', historySize)
  const queryStats = new Map<string, Map<string, QueryEntry>>()
  let queryPairs = 0
  const timingStats = new Map<string, { series: Series; histogram: LatencyHistogram }>()
  let droppedSeries = 0

  const timing = (name: string) => {
    let entry = timingStats.get(name)
    if (entry) return entry
    if (queryPairs + timingStats.size >= maxSeries) {
      droppedSeries++
      return undefined
    }
    entry = { series: store.add(`timing:${name}`, historySize), histogram: createLatencyHistogram() }
    timingStats.set(name, entry)
    return entry
  }

  const queryEntry = (op: string, model: string) => {
    let byModel = queryStats.get(op)
    let entry = byModel?.get(model)
    if (entry) return entry
    if (queryPairs + timingStats.size >= maxSeries) {
      droppedSeries++
      return undefined
    }
    if (!byModel) {
      byModel = new Map()
      queryStats.set(op, byModel)
    }
    queryPairs++
    entry = {
      op,
      model,
      errors: 0,
      histogram: createLatencyHistogram(),
      labels: Object.freeze({ op, model }),
    }
    byModel.set(model, entry)
    return entry
  }

  return {
    recordQuery(op, model, durationMs, ok = true) {
      assertDuration('recordQuery', durationMs)
      const entry = queryEntry(op, model)
      if (!entry) return
      entry.histogram.record(durationMs)
      if (!ok) entry.errors++
      querySeries.push(stamp(), durationMs, ok, entry.labels)
    },
    recordTiming(name, durationMs) {
      assertDuration('recordTiming', durationMs)
      const entry = timing(name)
      if (!entry) return
      entry.histogram.record(durationMs)
      entry.series.push(stamp(), durationMs)
    },
    queries() {
      const queries: ReturnType<QueryTimingSeries['queries']> = {}
      for (const byModel of queryStats.values())
        for (const entry of byModel.values())
          queries[`${entry.op} ${entry.model}`] = {
            op: entry.op,
            model: entry.model,
            errors: entry.errors,
            latency: entry.histogram.summary(),
          }
      return queries
    },
    timings() {
      const timings: Record<string, LatencySummary> = {}
      for (const [name, entry] of timingStats) timings[name] = entry.histogram.summary()
      return timings
    },
    get dropped() {
      return droppedSeries
    },
  }
}
