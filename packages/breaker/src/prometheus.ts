// prom-client collectors for circuit breakers. Values are read from `breaker.stats()` when
// Prometheus scrapes (prom-client `collect()`): a call pays nothing for being exported.
import { Counter, Gauge, type Registry } from 'prom-client'
import type { BreakerStats } from './breaker/types.js'

/** `headroom_breaker_state`: 0 closed, 1 half-open, 2 open (higher is worse). */
export const BREAKER_STATE_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const

/**
 * Registers the breaker metrics (`headroom_breaker_*`, label `breaker` = the record key)
 * in `registry`. Returns a function that removes them again.
 *
 * @example
 * import { Registry } from 'prom-client'
 * import { createBreaker } from '@headroom/breaker'
 * import { registerBreakerMetrics } from '@headroom/breaker/prometheus'
 *
 * const registry = new Registry()
 * const breaker = createBreaker(async () => 'pong', { name: 'ping' })
 * registerBreakerMetrics(registry, { ping: breaker })
 * await breaker.fire()
 * console.log(await registry.metrics())
 */
export function registerBreakerMetrics(
  registry: Registry,
  breakers: Readonly<Record<string, { stats(): BreakerStats }>>,
): () => void {
  const before = new Set(registry.getMetricsAsArray().map((metric) => metric.name))
  const entries = Object.entries(breakers)
  // stats() is an in-memory snapshot: each family reads it once per breaker per scrape.
  const each = (read: (stats: BreakerStats, breaker: string) => void) => {
    for (const [name, breaker] of entries) read(breaker.stats(), name)
  }
  const counter = (name: string, help: string, value: (stats: BreakerStats) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['breaker'],
      registers: [registry],
      collect() {
        this.reset()
        each((stats, breaker) => this.inc({ breaker }, value(stats)))
      },
    })

  new Gauge({
    name: 'headroom_breaker_state',
    help: 'Breaker state: 0 closed, 1 half-open, 2 open',
    labelNames: ['breaker'],
    // Across cluster workers the worst worker's state is the one to see.
    aggregator: 'max',
    registers: [registry],
    collect() {
      each((stats, breaker) => this.set({ breaker }, BREAKER_STATE_VALUE[stats.state]))
    },
  })
  new Counter({
    name: 'headroom_breaker_calls_total',
    help: 'Completed calls by result (success, failure; failures include timeouts)',
    labelNames: ['breaker', 'result'],
    registers: [registry],
    collect() {
      this.reset()
      each((stats, breaker) => {
        this.inc({ breaker, result: 'success' }, stats.successes)
        this.inc({ breaker, result: 'failure' }, stats.failures)
      })
    },
  })
  counter('headroom_breaker_timeouts_total', 'Calls that timed out', (s) => s.timeouts)
  counter(
    'headroom_breaker_slow_calls_total',
    'Calls slower than the slow-call threshold',
    (s) => s.slowCalls,
  )
  counter(
    'headroom_breaker_rejected_calls_total',
    'Calls refused without running (open, half-open probes out, over capacity)',
    (s) => s.rejects,
  )
  counter('headroom_breaker_fallbacks_total', 'Calls answered by the fallback', (s) => s.fallbacks)
  counter('headroom_breaker_opens_total', 'Times the breaker opened', (s) => s.opens)
  new Gauge({
    name: 'headroom_breaker_inflight_calls',
    help: 'Calls running now',
    labelNames: ['breaker'],
    registers: [registry],
    collect() {
      each((stats, breaker) => this.set({ breaker }, stats.inFlight))
    },
  })
  new Gauge({
    name: 'headroom_breaker_window_failure_ratio',
    help: 'Failed share (0..1) of the calls in the rolling window the closed state decides on',
    labelNames: ['breaker'],
    aggregator: 'max',
    registers: [registry],
    collect() {
      each((stats, breaker) => this.set({ breaker }, stats.window.failureRate / 100))
    },
  })
  const added = registry.getMetricsAsArray().filter((metric) => !before.has(metric.name))
  return () => {
    for (const metric of added) registry.removeSingleMetric(metric.name)
  }
}
