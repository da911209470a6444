// The series fed once per sample: one list of names shared by the monitor (which
// creates a series per name) and the public export (so callers can enumerate them).

import type { Series } from './series.js'
import type { MetricStore } from './store.js'

/** Sampled series names (one point per sample). */
export const SAMPLED_METRICS = [
  'cpu',
  'rss',
  'heapUsed',
  'heapTotal',
  'heapUsedRatio',
  'eventLoopDelay',
  'eventLoopDelayMax',
  'eventLoopUtilization',
  'requestRate',
  'errorRate',
  'latencyP99',
] as const

export type SampledMetric = (typeof SAMPLED_METRICS)[number]

/** Adds one series of `capacity` points per sampled metric to `store`, in {@link SAMPLED_METRICS} order. */
export function createSampledSeries(store: MetricStore, capacity: number): Record<SampledMetric, Series> {
  const sampled = {} as Record<SampledMetric, Series>
  for (const name of SAMPLED_METRICS) sampled[name] = store.add(name, capacity)
  return sampled
}
