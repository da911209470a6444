import { z } from 'zod'
import { placementFromOwners } from './build-placement.js'
import { MAX_LOGICAL_SHARDS, type Placement } from './placement.js'

/**
 * A placement as plain JSON, to persist next to your shard list (a config file, a row).
 * Passing it back as `layout` rebuilds exactly the same table in any process, whatever
 * history produced it.
 */
export interface ShardLayout {
  version: 1
  logicalShards: number
  seed: number
  /** Shards in slot order. */
  shards: { id: string; weight: number }[]
  /** The owner slot of every logical shard, little-endian uint16 (uint32 past 65,536 shards), base64. */
  owners: string
}

/** Encodes a placement. */
export function encodeLayout(placement: Placement): ShardLayout {
  const wide = placement.shards.length > 65_536
  const { logicalShards: L, owners } = placement
  const bytes = Buffer.alloc(L * (wide ? 4 : 2))
  for (let b = 0; b < L; b++) {
    if (wide) bytes.writeUInt32LE(owners[b]!, b * 4)
    else bytes.writeUInt16LE(owners[b]!, b * 2)
  }
  return {
    version: 1,
    logicalShards: L,
    seed: placement.seed,
    shards: placement.shards.map((s) => ({ id: s.id, weight: s.weight })),
    owners: bytes.toString('base64'),
  }
}

export const layoutSchema = z.object({
  version: z.literal(1, { error: 'expected layout version 1' }),
  logicalShards: z.number().int().min(1).max(MAX_LOGICAL_SHARDS),
  seed: z.number().int(),
  shards: z
    .array(z.object({ id: z.string().min(1), weight: z.number().finite().positive() }))
    .min(1, 'expected at least one shard'),
  owners: z.string(),
})

/** Decodes and checks a stored layout; throws a TypeError naming what is wrong. */
export function decodeLayout(layout: z.output<typeof layoutSchema>): Placement {
  const { logicalShards: L, shards } = layout
  const ids = new Set(shards.map((s) => s.id))
  if (ids.size !== shards.length)
    throw new TypeError('Invalid createShardRouter option "layout.shards": duplicate shard id')
  const wide = shards.length > 65_536
  const bytes = Buffer.from(layout.owners, 'base64')
  if (bytes.length !== L * (wide ? 4 : 2))
    throw new TypeError(
      `Invalid createShardRouter option "layout.owners": expected ${L} owners (received ${Math.floor(bytes.length / (wide ? 4 : 2))})`,
    )
  const owners = new Uint32Array(L)
  for (let b = 0; b < L; b++) {
    const owner = wide ? bytes.readUInt32LE(b * 4) : bytes.readUInt16LE(b * 2)
    if (owner >= shards.length)
      throw new TypeError(
        `Invalid createShardRouter option "layout.owners": logical shard ${b} names slot ${owner}, past the ${shards.length} shards`,
      )
    owners[b] = owner
  }
  return placementFromOwners(shards, owners, layout.seed)
}
