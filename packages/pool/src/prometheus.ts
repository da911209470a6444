// prom-client collectors for concurrency limiters and pool sizers. Values are read from
// `stats()` when Prometheus scrapes (prom-client `collect()`): admitted work pays nothing
// for being exported.
import { Counter, Gauge, type Registry } from 'prom-client'
import type { LimiterStats } from './limiter/types.js'
import type { PoolSizerStats } from './sizer/types.js'

/** What {@link registerPoolMetrics} exports, each by name (the `limiter` / `pool` label). */
export interface PoolMetricsSources {
  limiters?: Readonly<Record<string, { stats(): LimiterStats }>>
  sizers?: Readonly<Record<string, { stats(): PoolSizerStats }>>
}

type Read<S> = (stats: S, name: string) => void

/**
 * Registers the pool metrics in `registry`: `headroom_pool_*` with label `limiter` for
 * concurrency limiters, `headroom_pool_*` with label `pool` for pool sizers. Returns a
 * function that removes them again.
 *
 * @example
 * import { Registry } from 'prom-client'
 * import { createAdaptiveLimiter } from '@headroom/pool'
 * import { registerPoolMetrics } from '@headroom/pool/prometheus'
 *
 * const registry = new Registry()
 * const limiter = createAdaptiveLimiter({ max: 50 })
 * registerPoolMetrics(registry, { limiters: { db: limiter } })
 * await limiter.run(async () => 'done')
 * console.log(await registry.metrics())
 */
export function registerPoolMetrics(registry: Registry, sources: PoolMetricsSources): () => void {
  const before = new Set(registry.getMetricsAsArray().map((metric) => metric.name))
  const limiters = Object.entries(sources.limiters ?? {})
  const sizers = Object.entries(sources.sizers ?? {})
  // stats() is an in-memory snapshot: each family reads it once per source per scrape.
  const eachLimiter = (read: Read<LimiterStats>) => {
    for (const [name, limiter] of limiters) read(limiter.stats(), name)
  }
  const eachSizer = (read: Read<PoolSizerStats>) => {
    for (const [name, sizer] of sizers) read(sizer.stats(), name)
  }

  if (limiters.length > 0) {
    const gauge = (name: string, help: string, value: (stats: LimiterStats) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['limiter'],
        registers: [registry],
        collect() {
          eachLimiter((stats, limiter) => this.set({ limiter }, value(stats)))
        },
      })
    gauge('headroom_pool_limit', 'Concurrency limit the algorithm allows now (slots)', (s) => s.limit)
    gauge('headroom_pool_inflight', 'Calls holding a slot now', (s) => s.inflight)
    gauge('headroom_pool_queued', 'Calls waiting for a slot now', (s) => s.queued)
    new Counter({
      name: 'headroom_pool_admitted_total',
      help: 'Calls given a slot',
      labelNames: ['limiter'],
      registers: [registry],
      collect() {
        this.reset()
        eachLimiter((stats, limiter) => this.inc({ limiter }, stats.admitted))
      },
    })
    new Counter({
      name: 'headroom_pool_rejected_total',
      help: 'Calls refused, by reason (queue-full, timeout, closed)',
      labelNames: ['limiter', 'reason'],
      registers: [registry],
      collect() {
        this.reset()
        eachLimiter((stats, limiter) => {
          for (const [reason, count] of Object.entries(stats.rejected)) this.inc({ limiter, reason }, count)
        })
      },
    })
    new Counter({
      name: 'headroom_pool_completed_total',
      help: 'Completed calls by outcome (success, dropped, ignored)',
      labelNames: ['limiter', 'outcome'],
      registers: [registry],
      collect() {
        this.reset()
        eachLimiter((stats, limiter) => {
          for (const [outcome, count] of Object.entries(stats.completed))
            this.inc({ limiter, outcome }, count)
        })
      },
    })
  }

  if (sizers.length > 0) {
    const gauge = (name: string, help: string, value: (stats: PoolSizerStats) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['pool'],
        registers: [registry],
        collect() {
          eachSizer((stats, pool) => this.set({ pool }, value(stats)))
        },
      })
    gauge('headroom_pool_size', 'Connection pool max as the sizer set it', (s) => s.size)
    gauge(
      'headroom_pool_size_ceiling',
      'Upper bound of the pool size (max, or the max_connections share)',
      (s) => s.ceiling,
    )
    gauge('headroom_pool_connections', 'Connections open or opening', (s) => s.pool.total)
    gauge('headroom_pool_connections_in_use', 'Connections checked out', (s) => s.pool.inUse)
    gauge('headroom_pool_connection_waiters', 'Callers waiting for a connection', (s) => s.pool.waiting)
    new Counter({
      name: 'headroom_pool_resizes_total',
      help: 'Times the sizer changed the pool size',
      labelNames: ['pool'],
      registers: [registry],
      collect() {
        this.reset()
        eachSizer((stats, pool) => this.inc({ pool }, stats.resizes))
      },
    })
    new Counter({
      name: 'headroom_pool_checkouts_total',
      help: 'Checkouts by outcome (success, dropped, ignored, acquireFailed)',
      labelNames: ['pool', 'outcome'],
      registers: [registry],
      collect() {
        this.reset()
        eachSizer((stats, pool) => {
          for (const [outcome, count] of Object.entries(stats.checkouts)) this.inc({ pool, outcome }, count)
        })
      },
    })
  }
  const added = registry.getMetricsAsArray().filter((metric) => !before.has(metric.name))
  return () => {
    for (const metric of added) registry.removeSingleMetric(metric.name)
  }
}
