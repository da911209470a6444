// Shrinking a placement: the removed shards' logical shards go to the survivors by
// weighted rendezvous, so the result does not depend on the order of removals.
import { pairScore, weightedScore, winsTie } from '../shared/mix.js'
import { ownerTable, type Placement } from './placement.js'
import { mergeByPriority, sortByPriority } from './priority.js'

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
    if (score > bestScore || (score === bestScore && winsTie(raw, seeds[i]!, bestRaw, seeds[best]!))) {
      best = i
      bestRaw = raw
      bestScore = score
    }
  }
  return best
}
