// Manual health of targets: ejecting and readmitting a primary or a replica for a
// reason, replica lag, and the health query. Runs on health signals, not per route.
import { createCallOptionsCheck, type Emitter, type Logger } from '@headroom/core'
import type { RouterChannels, ShardRouterEvents } from './events.js'
import type { TargetPlace } from './topology.js'
import type { ShardRouter } from './types.js'

/** What target health needs of the router. */
export interface TargetHealthDeps<T> {
  /** The places a target serves (the topology's verb); throws for an unknown target. */
  placesOf(target: T): readonly TargetPlace<T>[]
  maxReplicaLagMs: number
  logger: Logger
  events: Emitter<ShardRouterEvents<T>>
  channels: RouterChannels
}

export type TargetHealth<T> = Pick<
  ShardRouter<T, unknown>,
  'eject' | 'readmit' | 'reportLag' | 'isHealthy'
> & {
  /**
   * When (router clock) the primary last held only what `target` has replayed, as
   * reported with its lag; undefined when never reported (no probe measures replay).
   */
  replayedAt(target: T): number | undefined
  /** True once any replica's replay time was reported: routing then consults it. */
  readonly tracksReplay: boolean
}

const checkReportLagOptions = createCallOptionsCheck('reportLag', { replayedAt: 'a time in ms' })

export function createTargetHealth<T>(deps: TargetHealthDeps<T>): TargetHealth<T> {
  const { placesOf, logger, events, channels } = deps
  const replayed = new Map<T, number>()
  return {
    replayedAt: (target) => replayed.get(target),
    get tracksReplay() {
      return replayed.size > 0
    },
    eject(target, reason = 'unhealthy') {
      for (const { entry, role } of placesOf(target)) {
        if (!entry.eject(target, role, reason)) continue
        if (role === 'primary') channels.eject.publish({ id: `${entry.shard.id}:primary`, reason })
        logger.warn({ shard: entry.shard.id, role, reason }, 'shard target ejected')
        events.emit('eject', { shard: entry.shard.id, target, role, reason })
      }
    },
    readmit(target, reason = 'unhealthy') {
      for (const { entry, role } of placesOf(target)) {
        if (!entry.readmit(target, role, reason)) continue
        if (role === 'primary') channels.readmit.publish({ id: `${entry.shard.id}:primary` })
        events.emit('readmit', { shard: entry.shard.id, target, role, reason })
      }
    },
    reportLag(target, lagMs, options) {
      if (typeof lagMs !== 'number' || Number.isNaN(lagMs))
        throw new TypeError(`reportLag: expected the lag as a number of ms (received ${String(lagMs)})`)
      checkReportLagOptions(options)
      const replayedAt = options?.replayedAt
      if (replayedAt !== undefined && typeof replayedAt !== 'number')
        throw new TypeError(
          `reportLag: expected options.replayedAt as a time in ms (received ${String(replayedAt)})`,
        )
      for (const { entry, role } of placesOf(target)) {
        if (role !== 'replica') continue
        const lagging = lagMs > deps.maxReplicaLagMs
        const changed = lagging ? entry.eject(target, role, 'lag') : entry.readmit(target, role, 'lag')
        if (!changed) continue
        logger[lagging ? 'warn' : 'info'](
          { shard: entry.shard.id, lagMs, maxReplicaLagMs: deps.maxReplicaLagMs },
          lagging ? 'replica lagging: out of read rotation' : 'replica caught up: back in read rotation',
        )
        events.emit(lagging ? 'eject' : 'readmit', { shard: entry.shard.id, target, role, reason: 'lag' })
      }
      if (replayedAt !== undefined) replayed.set(target, replayedAt)
    },
    isHealthy(target) {
      return placesOf(target).every(({ entry, role }) => entry.serves(target, role))
    },
  }
}
