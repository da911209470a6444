// prom-client collectors for shard routers and balancers. Values are read from `stats()`
// when Prometheus scrapes (prom-client `collect()`): a route pays nothing for being exported.
import { parseOptions } from '@headroom/core'
import { Counter, Gauge, type Registry } from 'prom-client'
import { z } from 'zod'
import type { BalancerStats } from '../balancer/stats.js'
import type { ShardRouterStats } from '../router/stats.js'
import { optionsSchema } from '../shared/options.js'

/** What {@link registerShardMetrics} exports, each by name (the `router` / `balancer` label). */
export interface ShardMetricsSources {
  routers?: Readonly<Record<string, { stats(): ShardRouterStats }>>
  balancers?: Readonly<Record<string, { stats(): BalancerStats }>>
}

const withStats = <S>() =>
  z.custom<{ stats(): S }>(
    (v) => typeof v === 'object' && v !== null && typeof (v as { stats?: unknown }).stats === 'function',
    'expected an object with stats()',
  )

const sourcesSchema = optionsSchema<ShardMetricsSources, Required<ShardMetricsSources>>()(
  z.object({
    routers: z.record(z.string(), withStats<ShardRouterStats>()).default({}),
    balancers: z.record(z.string(), withStats<BalancerStats>()).default({}),
  }),
)

type Read<S> = (stats: S, name: string) => void
type Aggregator = 'sum' | 'max' | 'min'

/**
 * Registers the shard metrics in `registry`: `headroom_shard_*` with label `router` for
 * routers, `headroom_shard_balancer_*` with label `balancer` for balancers. Returns a
 * function that removes them again.
 *
 * @example
 * import { Registry } from 'prom-client'
 * import { createShardRouter } from '@headroom/shard'
 * import { registerShardMetrics } from '@headroom/shard/prometheus'
 *
 * const registry = new Registry()
 * const router = createShardRouter({ shards: [{ id: 'a', primary: 'db-a' }, { id: 'b', primary: 'db-b' }] })
 * registerShardMetrics(registry, { routers: { users: router } })
 * router.route('user-1')
 * console.log(await registry.metrics())
 */
export function registerShardMetrics(registry: Registry, sources: ShardMetricsSources): () => void {
  const before = new Set(registry.getMetricsAsArray().map((metric) => metric.name))
  const parsed = parseOptions('registerShardMetrics', sourcesSchema, sources)
  const routers = Object.entries(parsed.routers)
  const balancers = Object.entries(parsed.balancers)
  // stats() is an in-memory snapshot: each family reads it once per source per scrape.
  const eachRouter = (read: Read<ShardRouterStats>) => {
    for (const [name, router] of routers) read(router.stats(), name)
  }
  const eachBalancer = (read: Read<BalancerStats>) => {
    for (const [name, balancer] of balancers) read(balancer.stats(), name)
  }

  const routerCounter = (name: string, help: string, value: (stats: ShardRouterStats) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['router'],
      registers: [registry],
      collect() {
        this.reset()
        eachRouter((stats, router) => this.inc({ router }, value(stats)))
      },
    })
  // Across cluster workers every worker holds the same topology: a level takes the worst
  // (max) worker, except sessions, which are per worker and add up.
  const routerGauge = (
    name: string,
    help: string,
    value: (stats: ShardRouterStats) => number,
    aggregator: Aggregator = 'max',
  ) =>
    new Gauge({
      name,
      help,
      aggregator,
      labelNames: ['router'],
      registers: [registry],
      collect() {
        eachRouter((stats, router) => this.set({ router }, value(stats)))
      },
    })

  new Counter({
    name: 'headroom_shard_routes_total',
    help: 'Keys routed, by kind (read, write)',
    labelNames: ['router', 'kind'],
    registers: [registry],
    collect() {
      this.reset()
      eachRouter((stats, router) => {
        this.inc({ router, kind: 'read' }, stats.reads)
        this.inc({ router, kind: 'write' }, stats.writes)
      })
    },
  })
  routerCounter(
    'headroom_shard_read_your_writes_total',
    'Reads sent to the primary because the session wrote recently',
    (s) => s.readYourWrites,
  )
  routerCounter(
    'headroom_shard_primary_fallbacks_total',
    'Reads sent to the primary because no replica was healthy',
    (s) => s.primaryFallbacks,
  )
  routerCounter(
    'headroom_shard_unavailable_total',
    'Routes refused with ShardUnavailableError',
    (s) => s.unavailable,
  )
  routerCounter(
    'headroom_shard_topology_changes_total',
    'Topology changes applied (add, remove, reweight, moves)',
    (s) => s.topologyChanges,
  )
  routerGauge('headroom_shard_shards', 'Physical shards in the topology', (s) => s.shards)
  routerGauge('headroom_shard_logical_shards', 'Logical shards keys hash into', (s) => s.logicalShards)
  routerGauge('headroom_shard_topology_version', 'Topology version, raised by each change', (s) => s.version)
  routerGauge('headroom_shard_ejected_targets', 'Targets ejected now (for any reason)', (s) => s.ejected)
  routerGauge('headroom_shard_sessions', 'Sessions held for read-your-writes', (s) => s.sessions, 'sum')
  routerGauge(
    'headroom_shard_max_imbalance_ratio',
    'Most loaded shard over its fair share of keys (1 = even)',
    (s) => s.maxImbalance,
  )

  const balancerCounter = (name: string, help: string, value: (stats: BalancerStats) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['balancer'],
      registers: [registry],
      collect() {
        this.reset()
        eachBalancer((stats, balancer) => this.inc({ balancer }, value(stats)))
      },
    })
  const balancerGauge = (
    name: string,
    help: string,
    value: (stats: BalancerStats) => number,
    aggregator: Aggregator,
  ) =>
    new Gauge({
      name,
      help,
      aggregator,
      labelNames: ['balancer'],
      registers: [registry],
      collect() {
        eachBalancer((stats, balancer) => this.set({ balancer }, value(stats)))
      },
    })
  type Target = BalancerStats['perTarget'][number]
  const eachTarget = (read: (target: Target, labels: { balancer: string; target: string }) => void) =>
    eachBalancer((stats, balancer) => {
      for (const target of stats.perTarget) read(target, { balancer, target: target.id })
    })
  const targetCounter = (name: string, help: string, value: (target: Target) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['balancer', 'target'],
      registers: [registry],
      collect() {
        this.reset()
        eachTarget((target, labels) => this.inc(labels, value(target)))
      },
    })
  const targetGauge = (
    name: string,
    help: string,
    value: (target: Target) => number,
    aggregator: Aggregator,
  ) =>
    new Gauge({
      name,
      help,
      aggregator,
      labelNames: ['balancer', 'target'],
      registers: [registry],
      collect() {
        // A target removed since the last scrape must not linger with its old value.
        this.reset()
        eachTarget((target, labels) => this.set(labels, value(target)))
      },
    })

  balancerCounter('headroom_shard_balancer_picks_total', 'Targets picked', (s) => s.picks)
  balancerCounter(
    'headroom_shard_balancer_exhausted_total',
    'Picks that found no healthy target',
    (s) => s.exhausted,
  )
  balancerGauge('headroom_shard_balancer_targets', 'Targets behind the balancer', (s) => s.targets, 'max')
  // The fewest healthy targets any worker sees is the one to alert on.
  balancerGauge('headroom_shard_balancer_healthy_targets', 'Targets healthy now', (s) => s.healthy, 'min')
  targetCounter('headroom_shard_balancer_target_picks_total', 'Times this target was picked', (t) => t.picks)
  targetCounter(
    'headroom_shard_balancer_target_failures_total',
    'Failures reported for this target',
    (t) => t.failures,
  )
  targetGauge(
    'headroom_shard_balancer_target_inflight',
    'Calls running on this target',
    (t) => t.inflight,
    'sum',
  )
  targetGauge(
    'headroom_shard_balancer_target_latency_seconds',
    'Decayed moving average of call latency on this target',
    (t) => t.ewmaMs / 1000,
    'max',
  )
  targetGauge(
    'headroom_shard_balancer_target_healthy',
    'Whether the target is healthy: 1 healthy, 0 ejected',
    (t) => (t.healthy ? 1 : 0),
    'min',
  )

  const added = registry.getMetricsAsArray().filter((metric) => !before.has(metric.name))
  return () => {
    for (const metric of added) registry.removeSingleMetric(metric.name)
  }
}
