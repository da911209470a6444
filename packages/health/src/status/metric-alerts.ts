// Alerts by metric: each rule has its own hysteresis level and its own dwell (a status
// machine), apart from the overall status, so a metric crossing or recovering is
// announced even while another one already holds the status where it is.
import type { StatusChange } from './change.js'
import { createStatusMachine, type StatusMachine } from './machine.js'
import { metricReason } from './reasons.js'
import type { HealthStatus } from './status.js'
import {
  levelOf,
  type MetricAlertRule,
  type MetricValues,
  THRESHOLD_METRICS,
  type ThresholdLevels,
  type ThresholdMetric,
} from './thresholds.js'

/** A rule with its dwell times settled (the monitor's where the rule names none). */
export type ResolvedMetricAlertRule = MetricAlertRule & { enterDwellMs: number; exitDwellMs: number }

export interface MetricAlertsOptions {
  service: string
  rules: Partial<Record<ThresholdMetric, ResolvedMetricAlertRule>>
  start: number
}

export interface MetricAlerter {
  /** Feeds one sample; returns the alerts whose level changed after their dwell. */
  update(values: MetricValues, now: number): StatusChange[]
}

interface Watch {
  metric: ThresholdMetric
  levels: ThresholdLevels
  /** The level by hysteresis alone, before the dwell. */
  raw: HealthStatus
  machine: StatusMachine
}

const NONE: StatusChange[] = []

/** Undefined when there is no rule: the sample tick then skips the call. */
export function createMetricAlerts(options: MetricAlertsOptions): MetricAlerter | undefined {
  const watches: Watch[] = []
  for (const metric of THRESHOLD_METRICS) {
    const rule = options.rules[metric]
    if (!rule) continue
    const levels: ThresholdLevels = {}
    if (rule.degraded) levels.degraded = rule.degraded
    if (rule.critical) levels.critical = rule.critical
    const machine = createStatusMachine(
      { enterDwellMs: rule.enterDwellMs, exitDwellMs: rule.exitDwellMs },
      options.start,
    )
    watches.push({ metric, levels, raw: 'healthy', machine })
  }
  if (watches.length === 0) return undefined

  return {
    update(values, now) {
      let alerts = NONE
      for (const watch of watches) {
        const value = values[watch.metric]
        // No reading (a window below minRequests): nothing is known, so neither a
        // crossing nor a recovery can be claimed; the dwell in progress waits too.
        if (value === undefined || Number.isNaN(value)) continue
        watch.raw = levelOf(watch.raw, value, watch.levels)
        const from = watch.machine.status
        const to = watch.machine.update(watch.raw, now)
        if (to === undefined) continue
        const reason = metricReason({ metric: watch.metric, level: to, value, levels: watch.levels, from })
        if (alerts === NONE) alerts = []
        alerts.push({
          from,
          to,
          at: now,
          reasons: reason ? [reason] : [],
          service: options.service,
          metric: watch.metric,
        })
      }
      return alerts
    },
  }
}
