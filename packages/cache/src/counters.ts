import { createLatencyHistogram, type LatencyHistogram } from '@headroom/core'
import type { KeyGroups } from './key-groups.js'

/** The counters behind `stats()` (L1 hits are counted apart, on the hit path itself). */
export interface Counters {
  l2Hits: number
  misses: number
  /** `get`/`getMany` reads neither tier answered (they run no factory). */
  readMisses: number
  coalesced: number
  staleServed: number
  earlyRefreshes: number
  prefetches: number
  factoryCalls: number
  factoryErrors: number
  softTimeouts: number
  hardTimeouts: number
  lockAcquired: number
  lockWaited: number
  lockFallbacks: number
  busPublished: number
  busReceived: number
  busReconnects: number
  recoveryQueued: number
  recoveryReplayed: number
  recoveryDropped: number
  readonly factoryLatency: LatencyHistogram
  /** Hits and misses by key group (L1 hits are counted there only, through each entry). */
  readonly groups: KeyGroups
}

export function createCounters(groups: KeyGroups): Counters {
  return {
    l2Hits: 0,
    misses: 0,
    readMisses: 0,
    coalesced: 0,
    staleServed: 0,
    earlyRefreshes: 0,
    prefetches: 0,
    factoryCalls: 0,
    factoryErrors: 0,
    softTimeouts: 0,
    hardTimeouts: 0,
    lockAcquired: 0,
    lockWaited: 0,
    lockFallbacks: 0,
    busPublished: 0,
    busReceived: 0,
    busReconnects: 0,
    recoveryQueued: 0,
    recoveryReplayed: 0,
    recoveryDropped: 0,
    factoryLatency: createLatencyHistogram(),
    groups,
  }
}
