import type { LatencySummary } from '@headroom/core'

/** A snapshot of a {@link ShardRouter}. */
export interface ShardRouterStats {
  strategy: string
  version: number
  shards: number
  logicalShards: number
  reads: number
  writes: number
  /** Reads sent to the primary because the session wrote recently. */
  readYourWrites: number
  /** Reads sent to the primary because no replica was healthy. */
  primaryFallbacks: number
  /** Routes refused with ShardUnavailableError. */
  unavailable: number
  sessions: number
  /** Targets currently ejected (for any reason). */
  ejected: number
  topologyChanges: number
  /** Time to compute and apply topology changes, in ms. */
  topologyChangeMs: LatencySummary
  /** `imbalance().maxRatio` (hash strategy), else 1. */
  maxImbalance: number
}
