// The balancer's targets grouped into the pools a pick chooses from: the shared pool
// and one per reserving tier. Built and validated once, at construction.
import { murmur3 } from '@headroom/core'
import type { TargetState } from './target-state.js'

/** Targets a pick chooses among; `healthy` is refreshed on eject and readmit. */
export interface Pool<T> {
  all: TargetState<T>[]
  healthy: TargetState<T>[]
  cursor: number
}

/** Every target's state, and the pools that hold them. */
export interface TargetPools<T> {
  states: Map<T, TargetState<T>>
  shared: Pool<T>
  tiers: Map<string, Pool<T>>
}

/**
 * One state per target, each in the pool of the tier that reserved it (or the shared
 * pool). Throws on a reserved target missing from `targets`, a target reserved twice,
 * and a duplicate target, naming the option.
 */
export function buildPools<T>(
  targets: readonly T[],
  reserved: Record<string, readonly unknown[]>,
  idOf: (target: T, index: number) => string,
): TargetPools<T> {
  const tierOf = new Map<T, string>()
  for (const [tier, reservedTargets] of Object.entries(reserved)) {
    for (const target of reservedTargets as T[]) {
      if (!targets.includes(target))
        throw new TypeError(
          `Invalid createBalancer option "reserved.${tier}": a reserved target is not in targets`,
        )
      if (tierOf.has(target))
        throw new TypeError(
          `Invalid createBalancer option "reserved.${tier}": a target is reserved by two tiers`,
        )
      tierOf.set(target, tier)
    }
  }
  const states = new Map<T, TargetState<T>>()
  const shared: Pool<T> = { all: [], healthy: [], cursor: 0 }
  const tiers = new Map<string, Pool<T>>()
  targets.forEach((target, index) => {
    if (states.has(target))
      throw new TypeError(`Invalid createBalancer option "targets.${index}": duplicate target`)
    const id = idOf(target, index)
    const tier = tierOf.get(target)
    const state: TargetState<T> = {
      target,
      id,
      seed: murmur3(id),
      tier,
      inflight: 0,
      ewma: 0,
      lastAt: 0,
      picks: 0,
      failures: 0,
      reasons: new Set(),
    }
    states.set(target, state)
    let pool = shared
    if (tier !== undefined) {
      pool = tiers.get(tier) ?? { all: [], healthy: [], cursor: 0 }
      tiers.set(tier, pool)
    }
    pool.all.push(state)
    pool.healthy.push(state)
  })
  return { states, shared, tiers }
}
