import type { Clock, Logger } from '@headroom/core'
import { createBalancer } from '../balancer/balancer.js'
import type { BalancerStrategy } from '../balancer/options.js'
import type { Balancer } from '../balancer/types.js'
import type { Shard } from './shard-spec.js'

/** A shard with its routing state: primary health and the replicas' balancer. */
export interface ShardEntry<T> {
  readonly shard: Shard<T>
  /** Why the primary is out; healthy when empty. */
  readonly primaryDown: Set<string>
  /** Undefined when the shard has no replica. */
  readonly replicas: Balancer<T> | undefined
}

export interface EntrySettings<T> {
  balancer: BalancerStrategy
  reserved: Record<string, readonly T[]>
  clock: Clock
  logger: Logger
  random: (() => number) | undefined
}

export function createEntry<T>(shard: Shard<T>, settings: EntrySettings<T>): ShardEntry<T> {
  let replicas: Balancer<T> | undefined
  if (shard.replicas.length > 0) {
    // Only the tiers whose reserved replicas belong to this shard apply here.
    const reserved: Record<string, T[]> = {}
    for (const [tier, targets] of Object.entries(settings.reserved)) {
      const mine = targets.filter((t) => shard.replicas.includes(t))
      if (mine.length > 0) reserved[tier] = mine
    }
    replicas = createBalancer<T>({
      targets: shard.replicas,
      strategy: settings.balancer,
      reserved,
      idOf: (target, index) =>
        typeof target === 'string' || typeof target === 'number' ? String(target) : `${shard.id}#${index}`,
      clock: settings.clock,
      logger: settings.logger,
      ...(settings.random ? { random: settings.random } : {}),
    })
  }
  return { shard, primaryDown: new Set(), replicas }
}

/** True when the shard's targets are the same values (so its routing state can be kept). */
function sameTargets<T>(a: Shard<T>, b: Shard<T>): boolean {
  return (
    a.primary === b.primary &&
    a.replicas.length === b.replicas.length &&
    a.replicas.every((r, i) => r === b.replicas[i])
  )
}

/**
 * The entries of a new shard list, by id: an unchanged shard keeps its entry, a shard
 * keeping its targets keeps its routing state, any other gets a fresh entry.
 */
export function carryEntries<T>(
  entries: ReadonlyMap<string, ShardEntry<T>>,
  shards: readonly Shard<T>[],
  settings: EntrySettings<T>,
): Map<string, ShardEntry<T>> {
  const keep = new Map<string, ShardEntry<T>>()
  for (const shard of shards) {
    const existing = entries.get(shard.id)
    if (existing && existing.shard === shard) keep.set(shard.id, existing)
    // A shard keeping its targets keeps its routing state (ejections, latency, cursors).
    else if (existing && sameTargets(existing.shard, shard)) keep.set(shard.id, { ...existing, shard })
    else keep.set(shard.id, createEntry(shard, settings))
  }
  return keep
}
