import { addShard } from './add-shard.js'
import type { Placement, PlacementShard } from './placement.js'
import { removeShards } from './remove-shards.js'
import { reweight } from './reweight.js'

/** One logical shard changing owner. */
export interface ShardMove {
  logicalShard: number
  from: string
  to: string
}

/** Logical shards moving from one shard to another: one data-migration job. */
export interface ShardTransfer {
  from: string
  to: string
  logicalShards: number
  /** Fraction of all keys. */
  fraction: number
}

/** How much of the key space a shard holds, against what its weight asks for. */
export interface ShardLoad {
  id: string
  weight: number
  logicalShards: number
  /** Fraction of the key space it holds. */
  share: number
  /** `weight / total weight`. */
  expectedShare: number
  /** `share / expectedShare`: 1 is perfect. */
  ratio: number
}

/** The loads of every shard of a placement. */
export function loadsOf(placement: Placement): ShardLoad[] {
  const total = placement.shards.reduce((sum, s) => sum + s.weight, 0)
  return placement.shards.map((s, slot) => {
    const logicalShards = placement.lists[slot]!.length
    const share = logicalShards / placement.logicalShards
    const expectedShare = s.weight / total
    return { id: s.id, weight: s.weight, logicalShards, share, expectedShare, ratio: share / expectedShare }
  })
}

/**
 * The placement a new shard list leads to: removed shards first (their logical shards
 * to the best-scoring survivors), then changed weights, then new shards in list order.
 */
export function nextPlacement(current: Placement, next: readonly PlacementShard[]): Placement {
  const nextIds = new Set(next.map((s) => s.id))
  const currentIds = new Set(current.shards.map((s) => s.id))
  const removed = new Set(current.shards.filter((s) => !nextIds.has(s.id)).map((s) => s.id))
  let placement = removed.size > 0 ? removeShards(current, removed) : current
  const weightOf = new Map(next.map((s) => [s.id, s.weight]))
  if (placement.shards.some((s) => weightOf.get(s.id) !== s.weight))
    placement = reweight(
      placement,
      placement.shards.map((s) => weightOf.get(s.id)!),
    )
  for (const shard of next) if (!currentIds.has(shard.id)) placement = addShard(placement, shard)
  return placement
}

/**
 * The logical shards whose owner differs. Without weight changes only the removed
 * shards' old logical shards and the added shards' new ones can move, so only those
 * are visited (O(moved), not O(L)); otherwise the whole table is compared.
 */
export function movedLogicalShards(before: Placement, after: Placement, reweighted: boolean): Uint32Array {
  const afterSlot = new Map(after.shards.map((s, slot) => [s.id, slot]))
  const same = Int32Array.from(before.shards, (s) => afterSlot.get(s.id) ?? -1)
  const was = before.owners
  const now = after.owners
  const L = before.logicalShards
  if (reweighted) {
    const out: number[] = []
    for (let b = 0; b < L; b++) if (same[was[b]!] !== now[b]) out.push(b)
    return Uint32Array.from(out)
  }
  const seen = new Uint8Array(L)
  const out: number[] = []
  const visit = (list: Uint32Array) => {
    for (let i = 0; i < list.length; i++) {
      const b = list[i]!
      if (seen[b] === 1) continue
      seen[b] = 1
      if (same[was[b]!] !== now[b]) out.push(b)
    }
  }
  before.shards.forEach((_, slot) => {
    if (same[slot] === -1) visit(before.lists[slot]!)
  })
  const beforeIds = new Set(before.shards.map((s) => s.id))
  after.shards.forEach((s, slot) => {
    if (!beforeIds.has(s.id)) visit(after.lists[slot]!)
  })
  return Uint32Array.from(out)
}

/** The moves of a set of logical shards (in logical-shard order), and the same grouped per (from, to). */
export function describeMoves(
  before: Placement,
  after: Placement,
  moved: Uint32Array,
): { moves: ShardMove[]; transfers: ShardTransfer[] } {
  const moves: ShardMove[] = []
  const grouped = new Map<string, ShardTransfer>()
  const L = before.logicalShards
  for (const b of moved.slice().sort()) {
    const from = before.shards[before.owners[b]!]!.id
    const to = after.shards[after.owners[b]!]!.id
    moves.push({ logicalShard: b, from, to })
    const key = `${from}\u0000${to}`
    const transfer = grouped.get(key) ?? { from, to, logicalShards: 0, fraction: 0 }
    transfer.logicalShards++
    transfer.fraction = transfer.logicalShards / L
    grouped.set(key, transfer)
  }
  return { moves, transfers: [...grouped.values()] }
}

/**
 * The least fraction of keys any scheme must move between two weightings: what the
 * shards that grow must gain.
 */
export function optimalMovedFraction(
  before: readonly PlacementShard[],
  after: readonly PlacementShard[],
): number {
  const share = (shards: readonly PlacementShard[]) => {
    const total = shards.reduce((sum, s) => sum + s.weight, 0)
    return new Map(shards.map((s) => [s.id, s.weight / total]))
  }
  const was = share(before)
  let gain = 0
  for (const [id, s] of share(after)) gain += Math.max(0, s - (was.get(id) ?? 0))
  return gain
}
