// The level each metric with thresholds asks for, by hysteresis over its samples, and the
// value that put it there. Written once per sample; the status and its reasons read it.
import type { StatusReason } from './change.js'
import { metricReason } from './reasons.js'
import { type HealthStatus, worse } from './status.js'
import {
  levelOf,
  type MetricValues,
  type ResolvedThresholds,
  THRESHOLD_METRICS,
  type ThresholdLevels,
  type ThresholdMetric,
} from './thresholds.js'

interface Watched {
  readonly metric: ThresholdMetric
  readonly levels: ThresholdLevels
  level: HealthStatus
  value: number | undefined
}

/** The per-metric threshold state of one monitor. */
export class MetricLevels {
  /** Only the metrics with thresholds, in {@link THRESHOLD_METRICS} order, so a sample reads only those. */
  readonly #watched: Watched[] = []

  constructor(thresholds: Readonly<ResolvedThresholds>) {
    for (const metric of THRESHOLD_METRICS) {
      const levels = thresholds[metric]
      if (levels) this.#watched.push({ metric, levels, level: 'healthy', value: undefined })
    }
  }

  /** Feeds one sample's values. */
  update(values: MetricValues): void {
    for (const watched of this.#watched) {
      const value = values[watched.metric]
      watched.value = value
      watched.level = levelOf(watched.level, value, watched.levels)
    }
  }

  /** The worst level any metric asks for. */
  worst(): HealthStatus {
    let status: HealthStatus = 'healthy'
    for (const watched of this.#watched) status = worse(status, watched.level)
    return status
  }

  /** One reason per metric above healthy. */
  reasons(): StatusReason[] {
    const list: StatusReason[] = []
    for (const { metric, levels, level, value } of this.#watched) {
      if (level === 'healthy') continue
      const reason = metricReason({ metric, level, value: value ?? 0, levels })
      if (reason) list.push(reason)
    }
    return list
  }
}
