// Explains a status: one reason per metric, failed check or external input that asks
// for worse than healthy. Built only on a change and on request (reasons(), stats()).
import type { StatusReason } from './alerts.js'
import type { CheckResult } from './checks.js'
import { formatValue } from './format-metric-value.js'
import type { MetricLevels } from './metric-levels.js'
import type { HealthInput } from './monitor-types.js'
import { bandFor, type ResolvedThresholds, THRESHOLD_METRICS } from './thresholds.js'

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
    const value = metricValues[metric] ?? 0
    const band = bandFor(level, levels)
    if (!band) continue
    const shown = (n: number) => formatValue(metric, n)
    // Between exit and enter the level holds by hysteresis: say which level it has not
    // left, since that is the number an operator waits for.
    const message =
      value >= band.enter
        ? `${metric} ${shown(value)} >= ${shown(band.enter)}`
        : `${metric} ${shown(value)} has not fallen below exit ${shown(band.exit)} (entered at ${shown(band.enter)})`
    list.push({
      kind: 'metric',
      name: metric,
      status: level,
      value,
      threshold: band.enter,
      exit: band.exit,
      message,
    })
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
