export { type AggregatedPoint, type Aggregation, aggregate } from './aggregate.js'
export type { AlertSink, StatusChange, StatusReason } from './alerts.js'
export type { CheckDefinition, CheckFn, CheckResult } from './checks.js'
export {
  createLoadShedder,
  type LoadShedder,
  type Priority,
  type ShedPolicy,
  type StatusSource,
} from './load-shedder.js'
export {
  createMemoryGauge,
  type MemoryGauge,
  type MemoryGaugeOptions,
  type MemoryLimit,
  type MemoryLimitSource,
  readCgroupMemoryLimit,
  resolveMemoryLimit,
} from './memory-limit.js'
export type { MemoryPressureEvent, MemoryPressureLevel, MemoryPressureOptions } from './memory-pressure.js'
export { createHealthMonitor } from './monitor.js'
export type {
  HealthEvents,
  HealthInput,
  HealthMonitor,
  HealthSample,
  HealthStats,
  RequestOutcome,
} from './monitor-types.js'
export type { HealthMonitorOptions } from './options.js'
export {
  createProcessSampler,
  type ProcessReadings,
  type ProcessSamplerOptions,
  type Sampler,
} from './process-sampler.js'
export {
  formatPrometheus,
  type MetricFamily,
  type MetricSample,
  toMetricFamilies,
} from './prometheus.js'
export { SAMPLED_METRICS } from './sampled-metrics.js'
export type { MetricFilter, MetricPoint } from './series.js'
export { type HealthJsonStatus, type HealthStatus, toHealthJsonStatus } from './status.js'
export {
  type Band,
  DEFAULT_THRESHOLDS,
  type MetricAlertRule,
  type MetricAlerts,
  type ThresholdLevels,
  type ThresholdMetric,
  type Thresholds,
} from './thresholds.js'
export { createWebhookSink, formatChange, type WebhookSink, type WebhookSinkOptions } from './webhook-sink.js'
