// Placements made from scratch: the canonical one for a shard list, and the one a
// stored owners table describes. Both run at construction, never per lookup.

import { shardSeed } from '../shared/mix.js'
import { addToLists } from './add-shard.js'
import {
  emptyPlacement,
  type OwnerTable,
  ownerTable,
  type Placement,
  type PlacementShard,
} from './placement.js'
import { sortByPriority } from './priority.js'

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
