// Changing weights in place: only as many logical shards move as the new quotas need.
import { apportion } from './apportion.js'
import type { Placement } from './placement.js'
import { mergeByPriority } from './priority.js'

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
