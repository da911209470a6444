// Manual health of targets: ejecting and readmitting a primary or a replica for a
// reason, replica lag, and the health query. Runs on health signals, not per route.
import type { Emitter, Logger } from '@headroom/core'
import type { RouterChannels, ShardRouterEvents } from './events.js'
import { type TargetRef, targetServes } from './target-index.js'
import type { ShardRouter } from './types.js'

/** What target health needs of the router. */
export interface TargetHealthDeps<T> {
  /** The places a target serves; throws for an unknown target. */
  refsOf(target: T): TargetRef<T>[]
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

export function createTargetHealth<T>(deps: TargetHealthDeps<T>): TargetHealth<T> {
  const { refsOf, logger, events, channels } = deps
  const replayed = new Map<T, number>()
  return {
    replayedAt: (target) => replayed.get(target),
    get tracksReplay() {
      return replayed.size > 0
    },
    eject(target, reason = 'unhealthy') {
      for (const { entry, role } of refsOf(target)) {
        if (role === 'primary') {
          if (entry.primaryDown.has(reason)) continue
          entry.primaryDown.add(reason)
          channels.eject.publish({ id: `${entry.shard.id}:primary`, reason })
        } else {
          if (entry.replicas!.reasons(target).includes(reason)) continue
          entry.replicas!.eject(target, reason)
        }
        logger.warn({ shard: entry.shard.id, role, reason }, 'shard target ejected')
        events.emit('eject', { shard: entry.shard.id, target, role, reason })
      }
    },
    readmit(target, reason = 'unhealthy') {
      for (const { entry, role } of refsOf(target)) {
        if (role === 'primary') {
          if (!entry.primaryDown.delete(reason)) continue
          channels.readmit.publish({ id: `${entry.shard.id}:primary` })
        } else {
          if (!entry.replicas!.reasons(target).includes(reason)) continue
          entry.replicas!.readmit(target, reason)
        }
        events.emit('readmit', { shard: entry.shard.id, target, role, reason })
      }
    },
    reportLag(target, lagMs, options) {
      if (typeof lagMs !== 'number' || Number.isNaN(lagMs))
        throw new TypeError(`reportLag: expected the lag as a number of ms (received ${String(lagMs)})`)
      const replayedAt = options?.replayedAt
      if (replayedAt !== undefined && typeof replayedAt !== 'number')
        throw new TypeError(
          `reportLag: expected options.replayedAt as a time in ms (received ${String(replayedAt)})`,
        )
      for (const { entry, role } of refsOf(target)) {
        if (role !== 'replica') continue
        const lagging = lagMs > deps.maxReplicaLagMs
        if (lagging === entry.replicas!.reasons(target).includes('lag')) continue
        if (lagging) entry.replicas!.eject(target, 'lag')
        else entry.replicas!.readmit(target, 'lag')
        logger[lagging ? 'warn' : 'info'](
          { shard: entry.shard.id, lagMs, maxReplicaLagMs: deps.maxReplicaLagMs },
          lagging ? 'replica lagging: out of read rotation' : 'replica caught up: back in read rotation',
        )
        events.emit(lagging ? 'eject' : 'readmit', { shard: entry.shard.id, target, role, reason: 'lag' })
      }
      if (replayedAt !== undefined) replayed.set(target, replayedAt)
    },
    isHealthy(target) {
      return refsOf(target).every((ref) => targetServes(target, ref))
    },
  }
}
