// Plans of topology changes: what a new shard list does to the hash placement, computed
// before anything changes. The detail a caller may inspect (moves, loads, layout) is
// built lazily; what `apply` needs is kept aside, keyed by the plan object.

import { addShard } from '../placement/add-shard.js'
import { encodeLayout, type ShardLayout } from '../placement/layout.js'
import type { Placement } from '../placement/placement.js'
import {
  describeMoves,
  loadsOf,
  movedLogicalShards,
  nextPlacement,
  optimalMovedFraction,
  type ShardLoad,
  type ShardMove,
  type ShardTransfer,
} from '../placement/plan.js'
import type { Shard } from './shard-spec.js'

/** The exact effect of a topology change, computed before anything changes. */
export interface TopologyPlan<T> {
  /** The router version the plan was computed against (`apply` refuses it once stale). */
  readonly version: number
  /** The next shard list. */
  readonly shards: readonly Shard<T>[]
  readonly added: readonly string[]
  readonly removed: readonly string[]
  readonly reweighted: readonly string[]
  /** Every logical shard that changes owner. */
  readonly moves: readonly ShardMove[]
  /** The same, grouped per (from, to): one data migration each. */
  readonly transfers: readonly ShardTransfer[]
  /** Fraction of keys that change shard. */
  readonly movedFraction: number
  /** The least fraction any scheme would move for this change. */
  readonly optimalFraction: number
  readonly before: readonly ShardLoad[]
  readonly after: readonly ShardLoad[]
  /** The placement after the change, to persist. */
  readonly layout: ShardLayout
}

/** What `apply` needs of a plan, kept out of the public object. */
export interface PlanInternals<T> {
  placement: Placement
  shards: Shard<T>[]
  /** Time spent computing the plan, counted in the change's duration. */
  ms: number
  /** Set when the plan only appends this shard (installed without rebuilding the maps). */
  appended: Shard<T> | undefined
}

interface PlanFacts {
  added: string[]
  removed: string[]
  reweighted: string[]
  moved: Uint32Array
  optimalFraction: number
}

export interface Planner<T> {
  /** The plan from `current` to the shard list `shards`, made at router `version`. */
  plan(version: number, current: Placement, shards: Shard<T>[], started: number): TopologyPlan<T>
  /** The plan appending `shard` to `listOrder`: the common change, made cheaply. */
  append(
    version: number,
    current: Placement,
    listOrder: Shard<T>[],
    shard: Shard<T>,
    started: number,
  ): TopologyPlan<T>
  /** The internals of a plan this planner made, else undefined. */
  internalsOf(plan: TopologyPlan<T>): PlanInternals<T> | undefined
}

export function createPlanner<T>(): Planner<T> {
  const internals = new WeakMap<TopologyPlan<T>, PlanInternals<T>>()

  const describePlan = (
    version: number,
    current: Placement,
    next: Placement,
    shards: Shard<T>[],
    facts: PlanFacts,
    started: number,
    appended: Shard<T> | undefined,
  ): TopologyPlan<T> => {
    // The detail is computed on first read: apply() needs none of it.
    let layout: ShardLayout | undefined
    let described: ReturnType<typeof describeMoves> | undefined
    let loads: { before: ShardLoad[]; after: ShardLoad[] } | undefined
    const plan: TopologyPlan<T> = {
      version,
      shards,
      added: facts.added,
      removed: facts.removed,
      reweighted: facts.reweighted,
      get moves() {
        described ??= describeMoves(current, next, facts.moved)
        return described.moves
      },
      get transfers() {
        described ??= describeMoves(current, next, facts.moved)
        return described.transfers
      },
      movedFraction: facts.moved.length / current.logicalShards,
      optimalFraction: facts.optimalFraction,
      get before() {
        loads ??= { before: loadsOf(current), after: loadsOf(next) }
        return loads.before
      },
      get after() {
        loads ??= { before: loadsOf(current), after: loadsOf(next) }
        return loads.after
      },
      get layout() {
        layout ??= encodeLayout(next)
        return layout
      },
    }
    internals.set(plan, { placement: next, shards, appended, ms: performance.now() - started })
    return plan
  }

  return {
    plan(version, current, shards, started) {
      const next = nextPlacement(
        current,
        shards.map((s) => ({ id: s.id, weight: s.weight })),
      )
      const was = new Map(current.shards.map((s) => [s.id, s.weight]))
      const now = new Set(shards.map((s) => s.id))
      const reweighted = shards.filter((s) => was.has(s.id) && was.get(s.id) !== s.weight).map((s) => s.id)
      const facts: PlanFacts = {
        added: shards.filter((s) => !was.has(s.id)).map((s) => s.id),
        removed: current.shards.filter((s) => !now.has(s.id)).map((s) => s.id),
        reweighted,
        moved: movedLogicalShards(current, next, reweighted.length > 0),
        optimalFraction: optimalMovedFraction(current.shards, next.shards),
      }
      return describePlan(version, current, next, shards, facts, started, undefined)
    },
    /** Appending one shard, the common change: O(N) array work and one table copy, no maps of ids. */
    append(version, current, listOrder, shard, started) {
      const next = addShard(current, { id: shard.id, weight: shard.weight })
      let total = 0
      for (const s of next.shards) total += s.weight
      const facts: PlanFacts = {
        added: [shard.id],
        removed: [],
        reweighted: [],
        // Everything that moves goes to the newcomer: its list is the move set.
        moved: next.lists[next.shards.length - 1]!,
        optimalFraction: shard.weight / total,
      }
      return describePlan(version, current, next, [...listOrder, shard], facts, started, shard)
    },
    internalsOf: (plan) => internals.get(plan),
  }
}
