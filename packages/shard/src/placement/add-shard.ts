// Growing a placement by one shard: the newcomer takes its quota from the shards
// furthest above their targets, and nothing else moves.
import { shardSeed } from '../shared/mix.js'
import type { Placement, PlacementShard } from './placement.js'
import { sortByPriority } from './priority.js'

/** A change to the lists, with the logical shards that moved (to apply to `owners`). */
export interface ListChange {
  shards: PlacementShard[]
  seeds: Uint32Array
  lists: Uint32Array[]
  /** Logical shards whose owner changed. */
  moved: Uint32Array
  /** Their new owner slot. */
  to: number
}

/**
 * Adds one shard. It takes `round(L * w / W')` logical shards, one at a time from the
 * shard furthest above its target under the new total weight (so every shard stays
 * within about one logical shard of its target), each donor giving its highest-priority
 * logical shards. Only logical shards that move to the newcomer change owner.
 * Cost: O(N log N + moved log moved) plus one copy of the table.
 */
export function addShard(placement: Placement, shard: PlacementShard): Placement {
  const change = addToLists(placement, shard)
  const owners =
    change.shards.length > 65_536 && placement.owners instanceof Uint16Array
      ? Uint32Array.from(placement.owners)
      : placement.owners.slice()
  for (let i = 0; i < change.moved.length; i++) owners[change.moved[i]!] = change.to
  return { ...placement, shards: change.shards, seeds: change.seeds, lists: change.lists, owners }
}

/** Adds `shard` to the lists only; callers write the moved logical shards to `owners`. */
export function addToLists(placement: Placement, shard: PlacementShard): ListChange {
  const { logicalShards: L, lists, shards, priority } = placement
  const n = shards.length
  const seeds = new Uint32Array(n + 1)
  seeds.set(placement.seeds)
  seeds[n] = shardSeed(shard.id, placement.seed)
  const nextShards = [...shards, shard]

  if (n === 0) {
    const all = new Uint32Array(L)
    for (let b = 0; b < L; b++) all[b] = b
    const list = sortByPriority(all, priority)
    return { shards: nextShards, seeds, lists: [list], moved: list, to: 0 }
  }

  let total = shard.weight
  for (const s of shards) total += s.weight
  const quota = Math.min(L, Math.round((L * shard.weight) / total))
  const give = takeFromLargestSurplus(placement, total, quota)
  const moved = new Uint32Array(quota)
  const nextLists = lists.slice()
  let k = 0
  for (let s = 0; s < n; s++) {
    const g = give[s]!
    if (g === 0) continue
    const list = lists[s]!
    const keep = list.length - g
    moved.set(list.subarray(keep), k)
    k += g
    nextLists[s] = list.subarray(0, keep)
  }
  nextLists.push(sortByPriority(moved, priority))
  return { shards: nextShards, seeds, lists: nextLists, moved, to: n }
}

/**
 * How many logical shards each existing shard gives up so a newcomer gets `quota`:
 * repeatedly the one furthest above its target under the new total weight (a max-heap
 * on surplus, ties to the lower slot).
 */
function takeFromLargestSurplus(placement: Placement, total: number, quota: number): Int32Array {
  const { logicalShards: L, lists, shards } = placement
  const n = shards.length
  const surplus = new Float64Array(n)
  for (let s = 0; s < n; s++) surplus[s] = lists[s]!.length - (L * shards[s]!.weight) / total
  const give = new Int32Array(n)
  const heap = new Int32Array(n)
  for (let i = 0; i < n; i++) heap[i] = i
  const above = (a: number, b: number) => surplus[a]! > surplus[b]! || (surplus[a] === surplus[b] && a < b)
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < n && above(heap[l]!, heap[m]!)) m = l
      if (r < n && above(heap[r]!, heap[m]!)) m = r
      if (m === i) return
      const t = heap[i]!
      heap[i] = heap[m]!
      heap[m] = t
      i = m
    }
  }
  for (let i = (n >> 1) - 1; i >= 0; i--) siftDown(i)
  for (let taken = 0; taken < quota; taken++) {
    let top = heap[0]!
    // A shard cannot give what it does not hold; the quota never exceeds the total.
    while (give[top]! >= lists[top]!.length) {
      surplus[top] = Number.NEGATIVE_INFINITY
      siftDown(0)
      top = heap[0]!
    }
    give[top]!++
    surplus[top]!--
    siftDown(0)
  }
  return give
}
