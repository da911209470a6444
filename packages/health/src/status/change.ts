import type { HealthStatus } from './status.js'
import type { ThresholdMetric } from './thresholds.js'

/** Why the status is what it is: one entry per metric, check or input at fault. */
export interface StatusReason {
  /** What is at fault: `metric`, a dependency `check`, or an external `input`. */
  kind: 'metric' | 'check' | 'input'
  /** The metric, check or input name (e.g. `eventLoopDelay`, `db`, `payments-breaker`). */
  name: string
  /** The level this source asks for. */
  status: HealthStatus
  /** The observed value (metrics). */
  value?: number
  /** The level's enter threshold (metrics). */
  threshold?: number
  /** The level's exit threshold: the level holds until the value falls below it (metrics). */
  exit?: number
  /** A human-readable explanation. */
  message: string
}

/**
 * The `change` event (the overall status), the `alert` event (one metric's alert level,
 * see `metricAlerts`) and what alert sinks receive.
 */
export interface StatusChange {
  from: HealthStatus
  to: HealthStatus
  /** ms since the epoch. */
  at: number
  reasons: StatusReason[]
  /** The monitor's `service` name. */
  service: string
  /**
   * Set on a metric alert: the metric that crossed its alert band or recovered below it.
   * Absent on a change of the overall status.
   */
  metric?: ThresholdMetric
}

/**
 * Receives status changes and metric alerts (e.g. {@link createWebhookSink}); must never
 * throw. `change.metric` tells a metric alert from a change of the overall status.
 */
export interface AlertSink {
  send(change: StatusChange): void
  /** Clears timers and abandons deliveries in flight. */
  close(): void
}
