// A shard with its routing state: why its primary is out, and the balancer of its
// replicas. The entry owns that state; target health and routing call its verbs.
import type { Clock, Logger } from '@headroom/core'
import { createBalancer } from '../balancer/balancer.js'
import type { BalancerStrategy } from '../balancer/options.js'
import type { Balancer } from '../balancer/types.js'
import type { Shard } from './shard-spec.js'

/** What every entry's replica balancer is built with (the router's options). */
export interface EntrySettings<T> {
  balancer: BalancerStrategy
  reserved: Record<string, readonly T[]>
  clock: Clock
  logger: Logger
  random: () => number
}

/** Where a target serves in a shard. */
export type TargetRole = 'primary' | 'replica'

export class ShardEntry<T> {
  readonly shard: Shard<T>
  /** Undefined when the shard has no replica. */
  readonly replicas: Balancer<T> | undefined
  /** Why the primary is out; healthy when empty. */
  readonly #primaryDown: Set<string>

  private constructor(shard: Shard<T>, replicas: Balancer<T> | undefined, primaryDown: Set<string>) {
    this.shard = shard
    this.replicas = replicas
    this.#primaryDown = primaryDown
  }

  static create<T>(shard: Shard<T>, settings: EntrySettings<T>): ShardEntry<T> {
    if (shard.replicas.length === 0) return new ShardEntry(shard, undefined, new Set())
    // Only the tiers whose reserved replicas belong to this shard apply here.
    const reserved: Record<string, T[]> = {}
    for (const [tier, targets] of Object.entries(settings.reserved)) {
      const mine = targets.filter((t) => shard.replicas.includes(t))
      if (mine.length > 0) reserved[tier] = mine
    }
    const replicas = createBalancer<T>({
      targets: shard.replicas,
      strategy: settings.balancer,
      reserved,
      idOf: (target, index) =>
        typeof target === 'string' || typeof target === 'number' ? String(target) : `${shard.id}#${index}`,
      clock: settings.clock,
      logger: settings.logger,
      random: settings.random,
    })
    return new ShardEntry(shard, replicas, new Set())
  }

  /** The same routing state (ejections, latency, cursors) under a new shard value with the same targets. */
  withShard(shard: Shard<T>): ShardEntry<T> {
    return new ShardEntry(shard, this.replicas, this.#primaryDown)
  }

  get primaryUp(): boolean {
    return this.#primaryDown.size === 0
  }

  /** Why the primary is out (empty when it serves). */
  primaryReasons(): string[] {
    return [...this.#primaryDown]
  }

  /** Takes `target` out in `role` for `reason`; false when it already was out for it. */
  eject(target: T, role: TargetRole, reason: string): boolean {
    if (role === 'primary') {
      if (this.#primaryDown.has(reason)) return false
      this.#primaryDown.add(reason)
      return true
    }
    if (this.replicas!.reasons(target).includes(reason)) return false
    this.replicas!.eject(target, reason)
    return true
  }

  /** Puts `target` back in `role` for `reason`; false when it was not out for it. */
  readmit(target: T, role: TargetRole, reason: string): boolean {
    if (role === 'primary') return this.#primaryDown.delete(reason)
    if (!this.replicas!.reasons(target).includes(reason)) return false
    this.replicas!.readmit(target, reason)
    return true
  }

  /** True when `target` serves in `role`: a primary with no ejection reason, or a healthy replica. */
  serves(target: T, role: TargetRole): boolean {
    return role === 'primary' ? this.#primaryDown.size === 0 : this.replicas!.isHealthy(target)
  }
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
    else if (existing && sameTargets(existing.shard, shard)) keep.set(shard.id, existing.withShard(shard))
    else keep.set(shard.id, ShardEntry.create(shard, settings))
  }
  return keep
}
