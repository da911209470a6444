export { registerShardMetrics, type ShardMetricsSources } from './prometheus/metrics.js'
