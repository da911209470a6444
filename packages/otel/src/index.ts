export { type HeadroomMetricsOptions, instrumentHeadroomMetrics } from './metrics.js'
