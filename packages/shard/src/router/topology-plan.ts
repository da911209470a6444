// Plans of topology changes: what a new shard list does to the hash placement, computed
// before anything changes. Pure functions: the topology keeps the plans it issued.

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

/** A change computed against a placement: what `describePlan` shows and `apply` installs. */
export interface PlannedChange<T> {
  /** The router version the change was computed against. */
  version: number
  current: Placement
  next: Placement
  /** The next shard list. */
  shards: Shard<T>[]
  added: string[]
  removed: string[]
  reweighted: string[]
  /** Logical shards whose owner changes. */
  moved: Uint32Array
  optimalFraction: number
}

/** The change from `current` to the shard list `shards`, made at router `version`. */
export function planChange<T>(version: number, current: Placement, shards: Shard<T>[]): PlannedChange<T> {
  const next = nextPlacement(
    current,
    shards.map((s) => ({ id: s.id, weight: s.weight })),
  )
  const was = new Map(current.shards.map((s) => [s.id, s.weight]))
  const now = new Set(shards.map((s) => s.id))
  const reweighted = shards.filter((s) => was.has(s.id) && was.get(s.id) !== s.weight).map((s) => s.id)
  return {
    version,
    current,
    next,
    shards,
    added: shards.filter((s) => !was.has(s.id)).map((s) => s.id),
    removed: current.shards.filter((s) => !now.has(s.id)).map((s) => s.id),
    reweighted,
    moved: movedLogicalShards(current, next, reweighted.length > 0),
    optimalFraction: optimalMovedFraction(current.shards, next.shards),
  }
}

/** Appending one shard, the common change: O(N) array work and one table copy, no maps of ids. */
export function planAppend<T>(
  version: number,
  current: Placement,
  listOrder: readonly Shard<T>[],
  shard: Shard<T>,
): PlannedChange<T> {
  const next = addShard(current, { id: shard.id, weight: shard.weight })
  let total = 0
  for (const s of next.shards) total += s.weight
  return {
    version,
    current,
    next,
    shards: [...listOrder, shard],
    added: [shard.id],
    removed: [],
    reweighted: [],
    // Everything that moves goes to the newcomer: its list is the move set.
    moved: next.lists[next.shards.length - 1]!,
    optimalFraction: shard.weight / total,
  }
}

/** The public view of a change; the detail a caller may inspect is computed on first read. */
export function describePlan<T>(change: PlannedChange<T>): TopologyPlan<T> {
  const { current, next, moved } = change
  let layout: ShardLayout | undefined
  let described: ReturnType<typeof describeMoves> | undefined
  let loads: { before: ShardLoad[]; after: ShardLoad[] } | undefined
  return {
    version: change.version,
    shards: change.shards,
    added: change.added,
    removed: change.removed,
    reweighted: change.reweighted,
    get moves() {
      described ??= describeMoves(current, next, moved)
      return described.moves
    },
    get transfers() {
      described ??= describeMoves(current, next, moved)
      return described.transfers
    },
    movedFraction: moved.length / current.logicalShards,
    optimalFraction: change.optimalFraction,
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
}
