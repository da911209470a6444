import { fmix32 } from '@headroom/core'
import { beats, pairScore, shardSeed, weightedScore } from './mix.js'

/** One physical shard as the placement sees it. */
export interface PlacementShard {
  readonly id: string
  readonly weight: number
}

/**
 * Which physical shard owns each logical shard. Immutable: every change returns a new
 * placement (sharing what did not change), so a router keeps answering lookups from the
 * old table until it swaps in the new one in a single assignment.
 */
export interface Placement {
  readonly logicalShards: number
  readonly seed: number
  /** Physical shards in slot order (the order they were added, survivors keeping theirs). */
  readonly shards: readonly PlacementShard[]
  /** `shardSeed(id, seed)` per slot. */
  readonly seeds: Uint32Array
  /** Owner slot of every logical shard: the lookup table (16-bit up to 65,536 shards: half the copy per change). */
  readonly owners: OwnerTable
  /**
   * The logical shards of each slot, in ascending `priority` order. A shard that gives
   * logical shards away gives the last ones, so giving is a shorter view of the same
   * buffer, and the whole state is a function of `owners` alone.
   */
  readonly lists: readonly Uint32Array[]
  /** A fixed pseudo-random priority per logical shard (a bijection, so no two tie). */
  readonly priority: Uint32Array
}

/** The lookup table type: 16-bit slots while they fit. */
export type OwnerTable = Uint16Array | Uint32Array

/** A zeroed owner table wide enough for `shards` slots. */
export function ownerTable(logicalShards: number, shards: number): OwnerTable {
  return shards > 65_536 ? new Uint32Array(logicalShards) : new Uint16Array(logicalShards)
}

/** The most logical shards a placement supports (a 256 MB table would help nobody). */
export const MAX_LOGICAL_SHARDS = 1_048_576

/** Priority tables are pure functions of (size, seed): share them between placements. */
const priorityCache = new Map<string, Uint32Array>()

function priorityTable(logicalShards: number, seed: number): Uint32Array {
  const key = `${logicalShards}:${seed}`
  let table = priorityCache.get(key)
  if (!table) {
    table = new Uint32Array(logicalShards)
    const prioritySeed = fmix32((seed ^ 0x5bd1e995) >>> 0)
    for (let b = 0; b < logicalShards; b++) table[b] = pairScore(b, prioritySeed)
    if (priorityCache.size >= 8) priorityCache.delete(priorityCache.keys().next().value!)
    priorityCache.set(key, table)
  }
  return table
}

/** A placement with no shard yet. */
export function emptyPlacement(logicalShards: number, seed: number): Placement {
  const priority = priorityTable(logicalShards, seed)
  return {
    logicalShards,
    seed,
    shards: [],
    seeds: new Uint32Array(0),
    owners: new Uint16Array(logicalShards),
    lists: [],
    priority,
  }
}

/** Sorts logical shards by priority (ascending): LSD radix sort, 4 passes of 8 bits, O(n). */
function sortByPriority(items: ArrayLike<number>, priority: Uint32Array): Uint32Array {
  const n = items.length
  let src = Uint32Array.from(items)
  if (n < 48) {
    for (let i = 1; i < n; i++) {
      const b = src[i]!
      const p = priority[b]!
      let j = i - 1
      while (j >= 0 && priority[src[j]!]! > p) {
        src[j + 1] = src[j]!
        j--
      }
      src[j + 1] = b
    }
    return src
  }
  let dst = new Uint32Array(n)
  const count = new Int32Array(256)
  for (let shift = 0; shift < 32; shift += 8) {
    count.fill(0)
    for (let i = 0; i < n; i++) count[(priority[src[i]!]! >>> shift) & 255]!++
    let sum = 0
    for (let d = 0; d < 256; d++) {
      const c = count[d]!
      count[d] = sum
      sum += c
    }
    for (let i = 0; i < n; i++) {
      const b = src[i]!
      dst[count[(priority[b]! >>> shift) & 255]!++] = b
    }
    const t = src
    src = dst
    dst = t
  }
  return src
}

/** Merges two priority-sorted lists into a new one. */
function mergeByPriority(a: Uint32Array, b: Uint32Array, priority: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length + b.length)
  let i = 0
  let j = 0
  let k = 0
  while (i < a.length && j < b.length) {
    out[k++] = priority[a[i]!]! < priority[b[j]!]! ? a[i++]! : b[j++]!
  }
  while (i < a.length) out[k++] = a[i++]!
  while (j < b.length) out[k++] = b[j++]!
  return out
}

/** A change to the lists, with the logical shards that moved (to apply to `owners`). */
interface ListChange {
  shards: PlacementShard[]
  seeds: Uint32Array
  lists: Uint32Array[]
  /** Logical shards whose owner changed. */
  moved: Uint32Array
  /** Their new owner slot. */
  to: number
}

/**
 * The canonical placement of a shard list: the shards added one by one in list order.
 * So appending a shard to the list gives exactly the placement {@link addShard} makes
 * from the shorter list: every process that reads the same list agrees, and growing
 * the list by one moves only the keys the new shard takes.
 */
export function buildPlacement(
  shards: readonly PlacementShard[],
  logicalShards: number,
  seed: number,
): Placement {
  const base = emptyPlacement(logicalShards, seed)
  let state: Placement = base
  for (const shard of shards) {
    const change = addToLists(state, shard)
    // The owners table is written once at the end, not copied per step.
    state = { ...state, shards: change.shards, seeds: change.seeds, lists: change.lists }
  }
  const owners = ownerTable(logicalShards, state.shards.length)
  state.lists.forEach((list, slot) => {
    for (let i = 0; i < list.length; i++) owners[list[i]!] = slot
  })
  return { ...state, owners }
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

function addToLists(placement: Placement, shard: PlacementShard): ListChange {
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

/**
 * Removes shards (at least one must survive). Each logical shard of a removed shard
 * goes to the survivor with the highest weighted rendezvous score for it; nothing else
 * moves. That choice depends only on the survivors, so removing several shards gives
 * the same placement whatever the order, and the same as removing them at once.
 */
export function removeShards(placement: Placement, ids: ReadonlySet<string>): Placement {
  const { logicalShards: L, owners, shards, seeds, lists, priority } = placement
  const n = shards.length
  const remap = new Int32Array(n).fill(-1)
  const survivors: number[] = []
  for (let s = 0; s < n; s++) {
    if (!ids.has(shards[s]!.id)) {
      remap[s] = survivors.length
      survivors.push(s)
    }
  }
  const m = survivors.length
  if (m === 0) throw new RangeError('removeShards: at least one shard must survive')
  const survivorSeeds = new Uint32Array(m)
  const weights = new Float64Array(m)
  let equal = true
  for (let i = 0; i < m; i++) {
    survivorSeeds[i] = seeds[survivors[i]!]!
    weights[i] = shards[survivors[i]!]!.weight
    if (weights[i] !== weights[0]) equal = false
  }

  const received: number[][] = Array.from({ length: m }, () => [])
  for (let s = 0; s < n; s++) {
    if (remap[s]! >= 0) continue
    const list = lists[s]!
    for (let i = 0; i < list.length; i++) {
      const b = list[i]!
      const to = equal ? bestEqual(b, survivorSeeds) : bestWeighted(b, survivorSeeds, weights)
      received[to]!.push(b)
    }
  }
  const nextOwners = ownerTable(L, m)
  for (let b = 0; b < L; b++) nextOwners[b] = remap[owners[b]!]!
  const nextLists: Uint32Array[] = []
  for (let i = 0; i < m; i++) {
    const own = lists[survivors[i]!]!
    const got = received[i]!
    for (const b of got) nextOwners[b] = i
    nextLists.push(got.length === 0 ? own : mergeByPriority(own, sortByPriority(got, priority), priority))
  }
  return {
    ...placement,
    shards: survivors.map((s) => shards[s]!),
    seeds: survivorSeeds,
    owners: nextOwners,
    lists: nextLists,
  }
}

/** With equal weights the weighted score is monotonic in the raw one: integers suffice. */
function bestEqual(b: number, seeds: Uint32Array): number {
  let best = 0
  let bestRaw = pairScore(b, seeds[0]!)
  for (let i = 1; i < seeds.length; i++) {
    const raw = pairScore(b, seeds[i]!)
    if (raw > bestRaw || (raw === bestRaw && seeds[i]! < seeds[best]!)) {
      best = i
      bestRaw = raw
    }
  }
  return best
}

function bestWeighted(b: number, seeds: Uint32Array, weights: Float64Array): number {
  let best = 0
  let bestRaw = pairScore(b, seeds[0]!)
  let bestScore = weightedScore(bestRaw, weights[0]!)
  for (let i = 1; i < seeds.length; i++) {
    const raw = pairScore(b, seeds[i]!)
    const score = weightedScore(raw, weights[i]!)
    if (beats(score, raw, seeds[i]!, bestScore, bestRaw, seeds[best]!)) {
      best = i
      bestRaw = raw
      bestScore = score
    }
  }
  return best
}

/**
 * Changes weights (same shards, same order). Each shard's quota is its largest-remainder
 * share of the logical shards; shards above quota give their highest-priority logical
 * shards to shards below it (receivers in slot order, each from the donor with the
 * largest surplus). Only as many logical shards move as the new weights require.
 */
export function reweight(placement: Placement, weights: readonly number[]): Placement {
  const { logicalShards: L, shards, priority } = placement
  const n = shards.length
  const quotas = apportion(L, weights)
  const owners = placement.owners.slice()
  const lists = placement.lists.slice()
  const surplus = new Int32Array(n)
  for (let s = 0; s < n; s++) surplus[s] = lists[s]!.length - quotas[s]!
  for (let r = 0; r < n; r++) {
    while (surplus[r]! < 0) {
      let donor = -1
      for (let s = 0; s < n; s++)
        if (surplus[s]! > 0 && (donor < 0 || surplus[s]! > surplus[donor]!)) donor = s
      if (donor < 0) break
      const k = Math.min(-surplus[r]!, surplus[donor]!)
      const list = lists[donor]!
      const given = list.subarray(list.length - k)
      lists[donor] = list.subarray(0, list.length - k)
      for (let i = 0; i < given.length; i++) owners[given[i]!] = r
      lists[r] = mergeByPriority(lists[r]!, given, priority)
      surplus[donor]! -= k
      surplus[r]! += k
    }
  }
  return { ...placement, shards: shards.map((s, i) => ({ id: s.id, weight: weights[i]! })), owners, lists }
}

/** Largest-remainder apportionment of `total` units by weight; ties go to the lower index. */
export function apportion(total: number, weights: readonly number[]): Int32Array {
  const sum = weights.reduce((a, b) => a + b, 0)
  const quotas = new Int32Array(weights.length)
  const remainders: number[] = []
  let given = 0
  for (let i = 0; i < weights.length; i++) {
    const exact = (total * weights[i]!) / sum
    quotas[i] = Math.floor(exact)
    given += quotas[i]!
    remainders.push(exact - quotas[i]!)
  }
  const order = remainders.map((_, i) => i).sort((a, b) => remainders[b]! - remainders[a]! || a - b)
  for (let i = 0; given < total; i++, given++) quotas[order[i % order.length]!]!++
  return quotas
}

/**
 * Rebuilds a placement from an owners table (a stored layout): the lists are a function
 * of it, so the result is the same placement that produced the table.
 */
export function placementFromOwners(
  shards: readonly PlacementShard[],
  owners: OwnerTable,
  seed: number,
): Placement {
  const base = emptyPlacement(owners.length, seed)
  const buckets: number[][] = shards.map(() => [])
  for (let b = 0; b < owners.length; b++) buckets[owners[b]!]!.push(b)
  const seeds = new Uint32Array(shards.length)
  shards.forEach((s, i) => {
    seeds[i] = shardSeed(s.id, seed)
  })
  return {
    ...base,
    shards: [...shards],
    seeds,
    owners: shards.length <= 65_536 ? Uint16Array.from(owners) : Uint32Array.from(owners),
    lists: buckets.map((list) => sortByPriority(list, base.priority)),
  }
}

/** Logical shards held by a slot. */
export function countOf(placement: Placement, slot: number): number {
  return placement.lists[slot]?.length ?? 0
}
