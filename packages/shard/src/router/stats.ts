// The router's counters and the snapshot `stats()` builds from them. The counters are
// bumped on the routing path; everything else here runs only when stats are read.
import type { LatencyHistogram, LatencySummary } from '@headroom/core'
import type { SessionTable } from './sessions.js'
import { type TargetRefs, targetServes } from './target-index.js'

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

/** Plain counters, incremented in place. */
export interface RouterCounters {
  reads: number
  writes: number
  readYourWrites: number
  primaryFallbacks: number
  unavailable: number
  changes: number
}

export function createRouterCounters(): RouterCounters {
  return { reads: 0, writes: 0, readYourWrites: 0, primaryFallbacks: 0, unavailable: 0, changes: 0 }
}

/** What a stats snapshot reads: fixed facts, the live counters, and getters for what topology changes replace. */
export interface StatsSources<T> {
  strategy: string
  logicalShards: number
  counters: RouterCounters
  sessions: SessionTable
  changeTimes: LatencyHistogram
  version(): number
  shardCount(): number
  /** The target index, rebuilt first if a topology change made it stale. */
  targets(): TargetRefs<T>
  maxImbalance(): number
}

/** The `stats()` of a router. */
export function createStatsReader<T>(sources: StatsSources<T>): () => ShardRouterStats {
  const { counters, sessions, changeTimes } = sources
  return () => {
    let ejected = 0
    for (const [target, refs] of sources.targets())
      if (!refs.every((ref) => targetServes(target, ref))) ejected++
    return {
      strategy: sources.strategy,
      version: sources.version(),
      shards: sources.shardCount(),
      logicalShards: sources.logicalShards,
      reads: counters.reads,
      writes: counters.writes,
      readYourWrites: counters.readYourWrites,
      primaryFallbacks: counters.primaryFallbacks,
      unavailable: counters.unavailable,
      sessions: sessions.size,
      ejected,
      topologyChanges: counters.changes,
      topologyChangeMs: changeTimes.summary(),
      maxImbalance: sources.maxImbalance(),
    }
  }
}
