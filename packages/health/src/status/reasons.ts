// Explains a metric's level in the units a person reads it in (logs, alerts, /health).
import type { StatusReason } from './change.js'
import type { HealthStatus } from './status.js'
import { bandFor, type ThresholdLevels, type ThresholdMetric } from './thresholds.js'

function formatValue(metric: ThresholdMetric, value: number): string {
  if (metric === 'rss') return `${Math.round(value / 1048576)} MiB`
  if (metric === 'eventLoopDelay' || metric === 'latencyP99') return `${value.toFixed(1)} ms`
  return value.toFixed(3)
}

/** What {@link metricReason} explains: one metric at `level`, reached from `from`. */
export interface MetricLevelChange {
  metric: ThresholdMetric
  level: HealthStatus
  value: number
  levels: ThresholdLevels
  /** The level before (metric alerts name the band a recovery left). @default level */
  from?: HealthStatus
}

/**
 * Why one metric is at `level`. A level held by hysteresis (value between exit and enter)
 * says which level it has not left, since that is the number an operator waits for. A
 * recovery to healthy (metric alerts) names the exit of the band it left, `from`.
 */
export function metricReason({
  metric,
  level,
  value,
  levels,
  from = level,
}: MetricLevelChange): StatusReason | undefined {
  const shown = (n: number) => formatValue(metric, n)
  if (level === 'healthy') {
    const left = bandFor(from, levels)
    if (!left) return undefined
    return {
      kind: 'metric',
      name: metric,
      status: level,
      value,
      threshold: left.enter,
      exit: left.exit,
      message: `${metric} ${shown(value)} < exit ${shown(left.exit)}`,
    }
  }
  const band = bandFor(level, levels)
  if (!band) return undefined
  const message =
    value >= band.enter
      ? `${metric} ${shown(value)} >= ${shown(band.enter)}`
      : `${metric} ${shown(value)} has not fallen below exit ${shown(band.exit)} (entered at ${shown(band.enter)})`
  return {
    kind: 'metric',
    name: metric,
    status: level,
    value,
    threshold: band.enter,
    exit: band.exit,
    message,
  }
}
