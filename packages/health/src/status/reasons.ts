// Explains a status: one reason per metric, failed check or external input that asks
// for worse than healthy. Built only on a change and on request (reasons(), stats()).

import type { CheckResult } from '../monitor/checks.js'
import type { HealthInput } from '../monitor/types.js'
import type { StatusReason } from './change.js'
import { formatValue } from './format-metric-value.js'
import type { MetricLevels } from './metric-levels.js'
import type { HealthStatus } from './status.js'
import {
  bandFor,
  type ResolvedThresholds,
  THRESHOLD_METRICS,
  type ThresholdLevels,
  type ThresholdMetric,
} from './thresholds.js'

export function collectReasons(
  thresholds: Readonly<ResolvedThresholds>,
  metricLevels: Readonly<MetricLevels['metricLevels']>,
  metricValues: Readonly<MetricLevels['metricValues']>,
  checkResults: readonly CheckResult[],
  inputs: ReadonlyMap<string, HealthInput>,
): StatusReason[] {
  const list: StatusReason[] = []
  for (const metric of THRESHOLD_METRICS) {
    const level = metricLevels[metric]
    const levels = thresholds[metric]
    if (level === 'healthy' || !levels) continue
    const reason = metricReason(metric, level, metricValues[metric] ?? 0, levels)
    if (reason) list.push(reason)
  }
  for (const result of checkResults) {
    if (result.status !== 'fail' || result.impact === 'healthy') continue
    list.push({
      kind: 'check',
      name: result.name,
      status: result.impact,
      message: `check ${result.name} failed: ${result.error ?? 'unknown error'}`,
    })
  }
  for (const entry of inputs.values()) {
    if (entry.status === 'healthy') continue
    list.push({
      kind: 'input',
      name: entry.name,
      status: entry.status,
      message: `${entry.name} is ${entry.status}${entry.detail ? ` (${entry.detail})` : ''}`,
    })
  }
  return list
}

/**
 * Why one metric is at `level`. A level held by hysteresis (value between exit and enter)
 * says which level it has not left, since that is the number an operator waits for. A
 * recovery to healthy (metric alerts) names the exit of the band it left, `from`.
 */
export function metricReason(
  metric: ThresholdMetric,
  level: HealthStatus,
  value: number,
  levels: ThresholdLevels,
  from: HealthStatus = level,
): StatusReason | undefined {
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
