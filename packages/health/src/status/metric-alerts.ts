// Alerts by metric: each rule has its own hysteresis level and its own dwell (a status
// machine), apart from the overall status, so a metric crossing or recovering is
// announced even while another one already holds the status where it is.

import type { HealthSample } from '../monitor/types.js'
import type { StatusChange } from './change.js'
import { createStatusMachine, type StatusMachine } from './machine.js'
import { metricReason } from './reasons.js'
import type { HealthStatus } from './status.js'
import {
  levelOf,
  type MetricAlerts,
  THRESHOLD_METRICS,
  type ThresholdLevels,
  type ThresholdMetric,
} from './thresholds.js'

export interface MetricAlertsOptions {
  service: string
  rules: MetricAlerts
  /** The monitor's dwell times: a rule without its own uses them. */
  enterDwellMs: number
  exitDwellMs: number
  start: number
  /** Receives each alert (log, event, channel, sinks). */
  announce: (alert: StatusChange) => void
}

export interface MetricAlerter {
  /** Feeds one sample; announces the alerts whose level changed after their dwell. */
  update(sample: HealthSample, now: number): void
}

interface Watch {
  metric: ThresholdMetric
  levels: ThresholdLevels
  /** The level by hysteresis alone, before the dwell. */
  raw: HealthStatus
  machine: StatusMachine
}

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
      {
        enterDwellMs: rule.enterDwellMs ?? options.enterDwellMs,
        exitDwellMs: rule.exitDwellMs ?? options.exitDwellMs,
      },
      options.start,
    )
    watches.push({ metric, levels, raw: 'healthy', machine })
  }
  if (watches.length === 0) return undefined

  return {
    update(sample, now) {
      for (const watch of watches) {
        const value = sample[watch.metric]
        // No reading (a window below minRequests): nothing is known, so neither a
        // crossing nor a recovery can be claimed; the dwell in progress waits too.
        if (value === undefined || Number.isNaN(value)) continue
        watch.raw = levelOf(watch.raw, value, watch.levels)
        const from = watch.machine.status
        const to = watch.machine.update(watch.raw, now)
        if (to === undefined) continue
        const reason = metricReason(watch.metric, to, value, watch.levels, from)
        options.announce({
          from,
          to,
          at: now,
          reasons: reason ? [reason] : [],
          service: options.service,
          metric: watch.metric,
        })
      }
    },
  }
}
