// Manual health of targets: ejecting and readmitting a primary or a replica for a
// reason, replica lag, and the health query. Runs on health signals, not per route.
import type { Emitter, Logger } from '@headroom/core'
import type { RouterChannels, ShardRouterEvents } from './router-events.js'
import type { ShardRouter } from './router-types.js'
import { type TargetRef, targetServes } from './target-index.js'

/** What target health needs of the router. */
export interface TargetHealthDeps<T> {
  /** The places a target serves; throws for an unknown target. */
  refsOf(target: T): TargetRef<T>[]
  maxReplicaLagMs: number
  logger: Logger
  events: Emitter<ShardRouterEvents<T>>
  channels: RouterChannels
}

export type TargetHealth<T> = Pick<ShardRouter<T, unknown>, 'eject' | 'readmit' | 'reportLag' | 'isHealthy'>

export function createTargetHealth<T>(deps: TargetHealthDeps<T>): TargetHealth<T> {
  const { refsOf, logger, events, channels } = deps
  return {
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
    reportLag(target, lagMs) {
      for (const { entry, role } of refsOf(target)) {
        if (role !== 'replica') continue
        if (lagMs > deps.maxReplicaLagMs) entry.replicas!.eject(target, 'lag')
        else entry.replicas!.readmit(target, 'lag')
      }
    },
    isHealthy(target) {
      return refsOf(target).every((ref) => targetServes(target, ref))
    },
  }
}
