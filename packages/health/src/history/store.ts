import { type AggregatedPoint, type AggregateQuery, aggregate } from './aggregate.js'
import { createSeries, type MetricFilter, type MetricPoint, type Series } from './series.js'

/** Every series the monitor keeps, by name, within a fixed budget. */
export interface MetricStore {
  /** Adds a series of `capacity` points (the caller bounds how many it adds). */
  add(name: string, capacity: number): Series
  names(): string[]
  points(name: string, from: number, to: number, filter?: MetricFilter): MetricPoint[]
  aggregated(name: string, query: AggregateQuery): AggregatedPoint[]
}

export function createMetricStore(): MetricStore {
  const all = new Map<string, Series>()

  const points = (name: string, from: number, to: number, filter?: MetricFilter) => {
    const found: MetricPoint[] = []
    all.get(name)?.forEach(from, to, (point) => found.push(point), filter)
    return found
  }

  return {
    add(name, capacity) {
      const series = createSeries(capacity)
      all.set(name, series)
      return series
    },
    names: () => [...all.keys()],
    points,
    aggregated(name, query) {
      const { from, to, aggregation, intervalMs, filter } = query
      return aggregate(points(name, from, to, filter), from, to, aggregation, intervalMs)
    },
  }
}
