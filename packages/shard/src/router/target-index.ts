// Target → the shards holding it (as primary or replica). Only health calls and stats
// need it, so it is rebuilt lazily on first use after a topology change, never on the
// routing path.
import { describeTarget } from '../shared/describe-target.js'
import { UnknownTargetError } from '../shared/errors.js'
import type { ShardEntry } from './shard-entry.js'

/** One place a target serves: a shard's entry and its role there. */
export interface TargetRef<T> {
  entry: ShardEntry<T>
  role: 'primary' | 'replica'
}

export type TargetRefs<T> = Map<T, TargetRef<T>[]>

export interface TargetIndex<T> {
  /** The index, rebuilt first if a topology change made it stale. */
  all(): TargetRefs<T>
  /** The places `target` serves; throws {@link UnknownTargetError} if none. */
  refsOf(target: T): TargetRef<T>[]
  /** Marks the index stale (after a topology change). */
  invalidate(): void
}

/** An index over `entries()`, the router's current entries by shard id. */
export function createTargetIndex<T>(entries: () => Map<string, ShardEntry<T>>): TargetIndex<T> {
  let targets: TargetRefs<T> = new Map()
  let dirty = true
  /** The index, rebuilt first if a topology change made it stale. */
  const get = () => {
    if (!dirty) return targets
    const index: TargetRefs<T> = new Map()
    const add = (target: T, entry: ShardEntry<T>, role: 'primary' | 'replica') => {
      const refs = index.get(target) ?? []
      refs.push({ entry, role })
      index.set(target, refs)
    }
    for (const entry of entries().values()) {
      add(entry.shard.primary, entry, 'primary')
      for (const replica of entry.shard.replicas) add(replica, entry, 'replica')
    }
    targets = index
    dirty = false
    return index
  }
  return {
    // Stats read it through here too: the index as last built would still hold a removed
    // shard's targets, or none at all before the first health call.
    all: get,
    refsOf(target) {
      const refs = get().get(target)
      if (!refs) throw new UnknownTargetError(`No shard has the target ${describeTarget(target)}`)
      return refs
    },
    invalidate() {
      dirty = true
    },
  }
}

/** True when `target` serves in this place: a primary with no ejection reason, or a healthy replica. */
export function targetServes<T>(target: T, { entry, role }: TargetRef<T>): boolean {
  return role === 'primary' ? entry.primaryDown.size === 0 : entry.replicas!.isHealthy(target)
}
