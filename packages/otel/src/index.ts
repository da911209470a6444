export { type HeadroomOptions, instrumentHeadroom } from './instrument.js'
export { type HeadroomMetricsOptions, instrumentHeadroomMetrics } from './metrics.js'
export { type HeadroomTracesOptions, instrumentHeadroomTraces } from './traces.js'
