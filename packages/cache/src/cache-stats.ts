// What `stats()` returns, assembled from the counters the cache keeps in several places
// (L1 hits count in each entry's group counters, the rest in the shared counters object).

import type { Counters } from './counters.js'
import type { L1 } from './l1.js'
import type { RedisStore } from './redis-store.js'
import type { CacheStats } from './types.js'

export function snapshotStats(
  l1: L1,
  counters: Counters,
  store: RedisStore | undefined,
  inflight: number,
  recoveryPending: number,
): CacheStats {
  const totals = counters.groups.totals()
  const l1Hits = totals.l1Hits
  const l2Hits = counters.l2Hits
  const misses = counters.misses
  // Hit rates count every read: a get that found nothing misses as much as a load does.
  const allMisses = misses + counters.readMisses
  const reads = l1Hits + l2Hits + allMisses
  return {
    l1: {
      hits: l1Hits,
      hitRate: reads === 0 ? 0 : l1Hits / reads,
      size: l1.size,
      bytes: l1.bytes,
      evictions: l1.evictions,
      shed: l1.shedCount,
    },
    l2: {
      hits: l2Hits,
      hitRate: l2Hits + allMisses === 0 ? 0 : l2Hits / (l2Hits + allMisses),
      errors: store?.errors ?? 0,
      state: store?.gateState ?? 'none',
    },
    misses,
    readMisses: counters.readMisses,
    hitRate: reads === 0 ? 0 : (l1Hits + l2Hits) / reads,
    groups: counters.groups.snapshot(),
    coalesced: counters.coalesced,
    staleServed: counters.staleServed,
    earlyRefreshes: counters.earlyRefreshes,
    prefetches: counters.prefetches,
    factory: {
      calls: counters.factoryCalls,
      errors: counters.factoryErrors,
      softTimeouts: counters.softTimeouts,
      hardTimeouts: counters.hardTimeouts,
      latency: counters.factoryLatency.summary(),
    },
    lock: {
      acquired: counters.lockAcquired,
      waited: counters.lockWaited,
      fallbacks: counters.lockFallbacks,
    },
    bus: {
      published: counters.busPublished,
      received: counters.busReceived,
      reconnects: counters.busReconnects,
    },
    recovery: {
      pending: recoveryPending,
      queued: counters.recoveryQueued,
      replayed: counters.recoveryReplayed,
      dropped: counters.recoveryDropped,
    },
    inflight,
  }
}
