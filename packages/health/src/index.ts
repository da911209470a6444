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
export type { MemoryPressureEvent, MemoryPressureLevel, MemoryPressureOptions } from './memory-pressure.js'
export {
  createHealthMonitor,
  type HealthEvents,
  type HealthInput,
  type HealthMonitor,
  type HealthSample,
  type HealthStats,
  SAMPLED_METRICS,
} from './monitor.js'
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
export type { MetricFilter, MetricPoint } from './series.js'
export { type HealthJsonStatus, type HealthStatus, toHealthJsonStatus } from './status.js'
export {
  type Band,
  DEFAULT_THRESHOLDS,
  type ThresholdLevels,
  type ThresholdMetric,
  type Thresholds,
} from './thresholds.js'
export { createWebhookSink, formatChange, type WebhookSink, type WebhookSinkOptions } from './webhook-sink.js'
