// Topology changes of the hash strategy: plan, apply, add and remove a shard. Cold
// code: it validates, plans, then hands the new placement to the router's `install`,
// the only place the lookup tables are swapped.
import { type Emitter, type LatencyHistogram, type Logger, parseOptions } from '@headroom/core'
import type { Placement } from '../placement/placement.js'
import { StalePlanError } from '../shared/errors.js'
import type { RouterChannels, ShardRouterEvents } from './events.js'
import { type Shard, topologySchema, toShard } from './shard-spec.js'
import type { RouterCounters } from './stats.js'
import { createPlanner } from './topology-plan.js'
import type { ShardRouter } from './types.js'

/** The router as topology changes see it: its current tables, and the way to swap them. */
export interface TopologyHost<T> {
  /** The hash placement; throws an UnsupportedOperationError naming `operation` for other strategies. */
  placement(operation: string): Placement
  version(): number
  /** The shards in list order. */
  shards(): Shard<T>[]
  has(id: string): boolean
  /** The shard with this id; throws an UnknownShardError. */
  shard(id: string): Shard<T>
  install(shards: Shard<T>[], next: Placement): void
  /** Installs a plan that only appends `shard`, without rebuilding the maps. */
  installAppended(shard: Shard<T>, next: Placement): void
}

/** Where an applied change is reported. */
export interface TopologyReporting<T> {
  logger: Logger
  events: Emitter<ShardRouterEvents<T>>
  channels: RouterChannels
  changeTimes: LatencyHistogram
  counters: RouterCounters
}

export type TopologyChanges<T> = Pick<ShardRouter<T, unknown>, 'plan' | 'apply' | 'addShard' | 'removeShard'>

export function createTopologyChanges<T>(
  host: TopologyHost<T>,
  { logger, events, channels, changeTimes, counters }: TopologyReporting<T>,
): TopologyChanges<T> {
  const planner = createPlanner<T>()

  const apply: TopologyChanges<T>['apply'] = (plan) => {
    const started = performance.now()
    const inner = planner.internalsOf(plan)
    if (!inner) throw new TypeError('apply() expects a plan made by this router')
    if (plan.version !== host.version())
      throw new StalePlanError(
        `The plan was made at version ${plan.version}; the router is at version ${host.version()}`,
      )
    if (inner.appended) host.installAppended(inner.appended, inner.placement)
    else host.install(inner.shards, inner.placement)
    const ms = inner.ms + performance.now() - started
    changeTimes.record(ms)
    counters.changes++
    const version = host.version()
    const payload = {
      version,
      added: plan.added,
      removed: plan.removed,
      reweighted: plan.reweighted,
      movedFraction: plan.movedFraction,
      ms,
    }
    logger.info(payload, 'shard topology changed')
    events.emit('topology', payload)
    channels.topology.publish({ version, movedFraction: plan.movedFraction, ms })
  }

  return {
    plan(next) {
      const started = performance.now()
      const current = host.placement('plan()')
      return planner.plan(
        host.version(),
        current,
        parseOptions('plan', topologySchema, next).map((spec) => toShard<T>(spec)),
        started,
      )
    },
    apply,
    addShard(spec) {
      const started = performance.now()
      const current = host.placement('addShard()')
      // Validate only the newcomer: the others were validated when they joined.
      const [parsed] = parseOptions('addShard', topologySchema, [spec])
      if (host.has(parsed!.id))
        throw new TypeError(
          `Invalid addShard option "id": duplicate shard id "${parsed!.id}" (received "${parsed!.id}")`,
        )
      const plan = planner.append(host.version(), current, host.shards(), toShard<T>(parsed!), started)
      apply(plan)
      return plan
    },
    removeShard(id) {
      const started = performance.now()
      const current = host.placement('removeShard()')
      host.shard(id)
      const shards = host.shards()
      if (shards.length === 1) throw new TypeError(`removeShard: "${id}" is the last shard`)
      const plan = planner.plan(
        host.version(),
        current,
        shards.filter((s) => s.id !== id),
        started,
      )
      apply(plan)
      return plan
    },
  }
}
