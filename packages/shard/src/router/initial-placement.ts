// The hash placement a router starts from: a stored layout brought up to the shard
// list, or the canonical placement of the list. Runs once, at construction.
import { parseOptions } from '@headroom/core'
import { z } from 'zod'
import { buildPlacement } from '../placement/build-placement.js'
import { decodeLayout, layoutSchema } from '../placement/layout.js'
import type { Placement, PlacementShard } from '../placement/placement.js'
import { nextPlacement } from '../placement/plan.js'

/** The placement options as given and as defaulted: a layout fixes `logicalShards` and `seed`. */
export interface PlacementSettings {
  /** The unvalidated `layout` option. */
  layout: unknown
  logicalShards: number
  seed: number
  /** What the caller passed, to refuse a value that contradicts the layout. */
  givenLogicalShards: number | undefined
  givenSeed: number | undefined
}

export function initialPlacement(specs: readonly PlacementShard[], settings: PlacementSettings): Placement {
  if (settings.layout === undefined) return buildPlacement(specs, settings.logicalShards, settings.seed)
  const { layout } = parseOptions('createShardRouter', z.object({ layout: layoutSchema }), {
    layout: settings.layout,
  })
  if (settings.givenLogicalShards !== undefined && settings.givenLogicalShards !== layout.logicalShards)
    throw new TypeError(
      `Invalid createShardRouter option "logicalShards": the layout has ${layout.logicalShards} (received ${settings.givenLogicalShards})`,
    )
  if (settings.givenSeed !== undefined && settings.givenSeed !== layout.seed)
    throw new TypeError(
      `Invalid createShardRouter option "seed": the layout has ${layout.seed} (received ${settings.givenSeed})`,
    )
  return nextPlacement(decodeLayout(layout), specs)
}
