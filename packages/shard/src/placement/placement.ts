// The placement table itself: what a placement holds and its empty state. The steps
// that change it live beside it (add-shard, remove-shards, reweight), and the lookup
// reads `owners` directly, so nothing here sits on the routing path.
import { priorityTable } from './priority.js'

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
