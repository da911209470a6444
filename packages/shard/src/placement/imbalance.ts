// Imbalance detection: how far a hash placement has drifted from the shards' weights.
import type { Placement } from './placement.js'
import { loadsOf, type ShardLoad } from './plan.js'

/** How far the placement is from the weights. */
export interface ImbalanceReport {
  /** True when no shard holds more than `imbalanceThreshold` times its share. */
  balanced: boolean
  /** The largest `share / expectedShare`. */
  maxRatio: number
  minRatio: number
  /** The most loaded shard. */
  busiest: string
  shards: ShardLoad[]
}

/** The load of every shard of `placement`, and whether the busiest stays within `threshold`. */
export function imbalanceOf(placement: Placement, threshold: number): ImbalanceReport {
  const shards = loadsOf(placement)
  let busiest = shards[0]!
  let minRatio = Number.POSITIVE_INFINITY
  for (const load of shards) {
    if (load.ratio > busiest.ratio) busiest = load
    minRatio = Math.min(minRatio, load.ratio)
  }
  return {
    balanced: busiest.ratio <= threshold,
    maxRatio: busiest.ratio,
    minRatio,
    busiest: busiest.id,
    shards,
  }
}
