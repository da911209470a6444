// prom-client collectors for caches. Values are read from `cache.stats()` when Prometheus
// scrapes (prom-client `collect()`), so a cache pays nothing per call for being exported.
// Hit rates are left to PromQL over these counters (a ratio of rates over a window); a
// since-start ratio gauge would hide a falling hit rate behind hours of history.
import { Counter, Gauge, type Registry } from 'prom-client'
import type { CacheStats } from './types.js'

/** L2 failure gate as a number: 0 closed (healthy), 1 probing, 2 open, -1 no Redis. */
const GATE_STATE = { none: -1, closed: 0, probing: 1, open: 2 } as const

/**
 * Registers the cache metrics (`headroom_cache_*`, label `cache` = the record key) in
 * `registry`. Returns a function that removes them again.
 *
 * @example
 * import { Registry } from 'prom-client'
 * import { createCache } from '@headroom/cache'
 * import { registerCacheMetrics } from '@headroom/cache/prometheus'
 *
 * const registry = new Registry()
 * const cache = createCache({ prefix: 'app' })
 * registerCacheMetrics(registry, { app: cache })
 * console.log(await registry.metrics())
 */
export function registerCacheMetrics(
  registry: Registry,
  caches: Readonly<Record<string, { stats(): CacheStats }>>,
): () => void {
  const before = new Set(registry.getMetricsAsArray().map((metric) => metric.name))
  const entries = Object.entries(caches)
  // stats() is an in-memory snapshot: each family reads it once per cache per scrape.
  const each = (read: (stats: CacheStats, cache: string) => void) => {
    for (const [name, cache] of entries) read(cache.stats(), name)
  }
  const counter = (name: string, help: string, value: (stats: CacheStats) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['cache'],
      registers: [registry],
      collect() {
        this.reset()
        each((stats, cache) => this.inc({ cache }, value(stats)))
      },
    })
  // Across cluster workers gauges add up (entries, bytes); a state takes the worst worker.
  const gauge = (
    name: string,
    help: string,
    value: (stats: CacheStats) => number,
    aggregator: 'sum' | 'max' = 'sum',
  ) =>
    new Gauge({
      name,
      help,
      aggregator,
      labelNames: ['cache'],
      registers: [registry],
      collect() {
        each((stats, cache) => this.set({ cache }, value(stats)))
      },
    })

  new Counter({
    name: 'headroom_cache_hits_total',
    help: 'Reads answered from a tier (l1: in process, l2: Redis)',
    labelNames: ['cache', 'tier'],
    registers: [registry],
    collect() {
      this.reset()
      each((stats, cache) => {
        this.inc({ cache, tier: 'l1' }, stats.l1.hits)
        this.inc({ cache, tier: 'l2' }, stats.l2.hits)
      })
    },
  })
  counter(
    'headroom_cache_misses_total',
    'Loads that missed both tiers and ran or waited on a factory',
    (s) => s.misses,
  )
  counter(
    'headroom_cache_coalesced_total',
    "Callers that joined another caller's load of the same key",
    (s) => s.coalesced,
  )
  counter('headroom_cache_stale_served_total', 'Stale values served within grace', (s) => s.staleServed)
  counter(
    'headroom_cache_early_refreshes_total',
    'Background refreshes started before expiry',
    (s) => s.earlyRefreshes,
  )
  counter('headroom_cache_factory_calls_total', 'Factory calls', (s) => s.factory.calls)
  counter('headroom_cache_factory_errors_total', 'Factory calls that threw', (s) => s.factory.errors)
  new Counter({
    name: 'headroom_cache_factory_timeouts_total',
    help: 'Factory calls that passed their soft or hard timeout',
    labelNames: ['cache', 'kind'],
    registers: [registry],
    collect() {
      this.reset()
      each((stats, cache) => {
        this.inc({ cache, kind: 'soft' }, stats.factory.softTimeouts)
        this.inc({ cache, kind: 'hard' }, stats.factory.hardTimeouts)
      })
    },
  })
  new Counter({
    name: 'headroom_cache_group_reads_total',
    help: 'Reads by key group (the keyGroups option) and outcome: l1 or l2 hit, or miss (a factory load or an empty get)',
    labelNames: ['cache', 'group', 'result'],
    registers: [registry],
    collect() {
      this.reset()
      each((stats, cache) => {
        for (const [group, g] of Object.entries(stats.groups)) {
          this.inc({ cache, group, result: 'l1_hit' }, g.l1Hits)
          this.inc({ cache, group, result: 'l2_hit' }, g.l2Hits)
          this.inc({ cache, group, result: 'miss' }, g.misses)
        }
      })
    },
  })
  new Counter({
    name: 'headroom_cache_l1_evictions_total',
    help: 'Entries dropped from L1: full (capacity) or shed on memory pressure (shrink)',
    labelNames: ['cache', 'reason'],
    registers: [registry],
    collect() {
      this.reset()
      each((stats, cache) => {
        this.inc({ cache, reason: 'capacity' }, stats.l1.evictions)
        this.inc({ cache, reason: 'pressure' }, stats.l1.shed)
      })
    },
  })
  counter('headroom_cache_l2_errors_total', 'Redis commands that failed', (s) => s.l2.errors)
  counter('headroom_cache_bus_published_total', 'Invalidation messages published', (s) => s.bus.published)
  counter('headroom_cache_bus_received_total', 'Invalidation messages received', (s) => s.bus.received)
  gauge('headroom_cache_l1_entries', 'Entries held in L1', (s) => s.l1.size)
  gauge('headroom_cache_l1_bytes', 'Estimated bytes held in L1', (s) => s.l1.bytes)
  gauge('headroom_cache_inflight_loads', 'Factory loads running now', (s) => s.inflight)
  gauge(
    'headroom_cache_l2_state',
    'Redis failure gate: 0 closed (healthy), 1 probing, 2 open, -1 no Redis',
    (s) => GATE_STATE[s.l2.state],
    'max',
  )
  const added = registry.getMetricsAsArray().filter((metric) => !before.has(metric.name))
  return () => {
    for (const metric of added) registry.removeSingleMetric(metric.name)
  }
}
