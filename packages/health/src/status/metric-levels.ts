// The per-metric threshold state: the sample tick writes each enabled metric's value
// and level, status evaluation and reasons read them. Built once, at construction.
import type { HealthStatus } from './status.js'
import {
  type ResolvedThresholds,
  THRESHOLD_METRICS,
  type ThresholdLevels,
  type ThresholdMetric,
} from './thresholds.js'

export interface MetricLevels {
  /** The metrics with thresholds, so a sample reads only those. */
  enabledThresholds: { metric: ThresholdMetric; levels: ThresholdLevels }[]
  /** The level each metric asks for ('healthy' for a metric without thresholds). */
  metricLevels: Record<ThresholdMetric, HealthStatus>
  /** The value each enabled metric had at the last sample. */
  metricValues: Record<ThresholdMetric, number | undefined>
}

export function createMetricLevels(thresholds: ResolvedThresholds): MetricLevels {
  const enabledThresholds: MetricLevels['enabledThresholds'] = []
  for (const metric of THRESHOLD_METRICS) {
    const levels = thresholds[metric]
    if (levels) enabledThresholds.push({ metric, levels })
  }
  const metricLevels = {} as Record<ThresholdMetric, HealthStatus>
  for (const metric of THRESHOLD_METRICS) metricLevels[metric] = 'healthy'
  const metricValues = {} as Record<ThresholdMetric, number | undefined>
  return { enabledThresholds, metricLevels, metricValues }
}
