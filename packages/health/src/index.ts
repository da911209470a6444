export {
  formatPrometheus,
  type MetricFamily,
  type MetricSample,
  toMetricFamilies,
} from './exporters/prometheus.js'
export {
  createWebhookSink,
  formatChange,
  type WebhookSink,
  type WebhookSinkOptions,
} from './exporters/webhook-sink.js'
export { type AggregatedPoint, type Aggregation, aggregate } from './history/aggregate.js'
export { SAMPLED_METRICS } from './history/sampled-metrics.js'
export type { MetricFilter, MetricPoint } from './history/series.js'
export type { CheckDefinition, CheckFn, CheckResult } from './monitor/checks.js'
export { createHealthMonitor } from './monitor/monitor.js'
export type { HealthMonitorOptions } from './monitor/options.js'
export type {
  HealthEvents,
  HealthInput,
  HealthMonitor,
  HealthSample,
  HealthStats,
  RequestOutcome,
} from './monitor/types.js'
export {
  createMemoryGauge,
  type MemoryGauge,
  type MemoryGaugeOptions,
  type MemoryLimit,
  type MemoryLimitSource,
  readCgroupMemoryLimit,
  resolveMemoryLimit,
} from './process/memory-limit.js'
export type {
  MemoryPressureEvent,
  MemoryPressureLevel,
  MemoryPressureOptions,
} from './process/memory-pressure.js'
export {
  createProcessSampler,
  type ProcessReadings,
  type ProcessSamplerOptions,
  type Sampler,
} from './process/sampler.js'
export {
  createLoadShedder,
  type LoadShedder,
  type Priority,
  type ShedPolicy,
  type StatusSource,
} from './shedding/load-shedder.js'
export type { AlertSink, StatusChange, StatusReason } from './status/change.js'
export { type HealthJsonStatus, type HealthStatus, toHealthJsonStatus } from './status/status.js'
export {
  type Band,
  DEFAULT_THRESHOLDS,
  type MetricAlertRule,
  type MetricAlerts,
  type ThresholdLevels,
  type ThresholdMetric,
  type Thresholds,
} from './status/thresholds.js'
