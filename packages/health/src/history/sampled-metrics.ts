// The series fed once per sample: one list of names for the monitor (which creates a
// series per name) and the public export (so callers can enumerate them).

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
