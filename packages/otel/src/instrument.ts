import { type CallOptionType, createCallOptionsCheck } from '@headroom/core'
import { type HeadroomMetricsOptions, instrumentHeadroomMetrics } from './metrics.js'
import { type HeadroomTracesOptions, instrumentHeadroomTraces } from './traces.js'

export interface HeadroomOptions extends HeadroomMetricsOptions, HeadroomTracesOptions {}

// Checked here so that a misspelt key names this call, not one of the two halves.
const checkOptions = createCallOptionsCheck('instrumentHeadroom', {
  meterProvider: 'MeterProvider',
  tracerProvider: 'TracerProvider',
  recordKeys: 'boolean',
} satisfies Record<keyof HeadroomOptions, CallOptionType>)

/**
 * Metrics and spans together: {@link instrumentHeadroomMetrics} and
 * {@link instrumentHeadroomTraces} with the same options. Returns a function that stops both.
 *
 * @example
 * import { instrumentHeadroom } from '@headroom/otel'
 * const stop = instrumentHeadroom() // the global MeterProvider and TracerProvider
 * // ... on shutdown
 * stop()
 */
export function instrumentHeadroom(options: HeadroomOptions = {}): () => void {
  checkOptions(options)
  const stopMetrics = instrumentHeadroomMetrics({ meterProvider: options.meterProvider })
  const stopTraces = instrumentHeadroomTraces({
    tracerProvider: options.tracerProvider,
    recordKeys: options.recordKeys,
  })
  return () => {
    stopMetrics()
    stopTraces()
  }
}
