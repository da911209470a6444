// prom-client collectors for rate limiters. Values are read from `limiter.stats()` when
// Prometheus scrapes (prom-client `collect()`): a decision pays nothing for being exported.
import { Counter, Gauge, type Registry } from 'prom-client'
import type { RateLimiterStats } from './limiter/stats.js'

/** The gate in front of Redis as a number: 0 closed (healthy), 1 probing, 2 open, -1 no Redis. */
const GATE_STATE = { none: -1, closed: 0, probing: 1, open: 2 } as const

/**
 * Registers the rate-limit metrics (`headroom_rate_limit_*`, label `limiter` = the record
 * key) in `registry`. Returns a function that removes them again.
 *
 * @example
 * import { Registry } from 'prom-client'
 * import { createRateLimiter } from '@headroom/rate-limit'
 * import { registerRateLimitMetrics } from '@headroom/rate-limit/prometheus'
 *
 * const registry = new Registry()
 * const limiter = createRateLimiter({ limit: 100, window: '1m' })
 * registerRateLimitMetrics(registry, { api: limiter })
 * await limiter.consume('user-1')
 * console.log(await registry.metrics())
 */
export function registerRateLimitMetrics(
  registry: Registry,
  limiters: Readonly<Record<string, { stats(): RateLimiterStats }>>,
): () => void {
  const before = new Set(registry.getMetricsAsArray().map((metric) => metric.name))
  const entries = Object.entries(limiters)
  // stats() is an in-memory snapshot: each family reads it once per limiter per scrape.
  const each = (read: (stats: RateLimiterStats, limiter: string) => void) => {
    for (const [name, limiter] of entries) read(limiter.stats(), name)
  }
  const counter = (name: string, help: string, value: (stats: RateLimiterStats) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['limiter'],
      registers: [registry],
      collect() {
        this.reset()
        each((stats, limiter) => this.inc({ limiter }, value(stats)))
      },
    })

  new Counter({
    name: 'headroom_rate_limit_decisions_total',
    help: 'Decisions by result (allowed, limited)',
    labelNames: ['limiter', 'result'],
    registers: [registry],
    collect() {
      this.reset()
      each((stats, limiter) => {
        this.inc({ limiter, result: 'allowed' }, stats.allowed)
        this.inc({ limiter, result: 'limited' }, stats.limited)
      })
    },
  })
  counter(
    'headroom_rate_limit_fast_path_refusals_total',
    'Refusals answered by the local blocked-key cache, without the store',
    (s) => s.fastPathRefusals,
  )
  counter('headroom_rate_limit_store_errors_total', 'Store calls that failed', (s) => s.storeErrors)
  counter(
    'headroom_rate_limit_fallback_decisions_total',
    'Decisions made by onStoreError instead of the store',
    (s) => s.fallbackDecisions,
  )
  counter('headroom_rate_limit_store_batches_total', 'Redis script calls', (s) => s.batches)
  counter(
    'headroom_rate_limit_store_batched_operations_total',
    'Decisions carried by Redis script calls',
    (s) => s.batchedOperations,
  )
  new Gauge({
    name: 'headroom_rate_limit_blocked_keys',
    help: 'Keys held in the local blocked-key cache',
    labelNames: ['limiter'],
    registers: [registry],
    collect() {
      each((stats, limiter) => this.set({ limiter }, stats.blockedKeys))
    },
  })
  new Gauge({
    name: 'headroom_rate_limit_store_state',
    help: 'Gate in front of Redis: 0 closed (healthy), 1 probing, 2 open, -1 no Redis',
    labelNames: ['limiter'],
    // Across cluster workers the worst worker's state is the one to see.
    aggregator: 'max',
    registers: [registry],
    collect() {
      each((stats, limiter) => this.set({ limiter }, GATE_STATE[stats.gate]))
    },
  })
  const added = registry.getMetricsAsArray().filter((metric) => !before.has(metric.name))
  return () => {
    for (const metric of added) registry.removeSingleMetric(metric.name)
  }
}
