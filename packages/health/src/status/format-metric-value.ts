// Renders a threshold metric's value in the unit a person reads it in, for the
// messages of status reasons (logs, alerts, /health).
import type { ThresholdMetric } from './thresholds.js'

export function formatValue(metric: ThresholdMetric, value: number): string {
  if (metric === 'rss') return `${Math.round(value / 1048576)} MiB`
  if (metric === 'eventLoopDelay' || metric === 'latencyP99') return `${value.toFixed(1)} ms`
  return value.toFixed(3)
}
