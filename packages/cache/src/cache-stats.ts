// What `stats()` returns, assembled from the counters the cache keeps in several places
// (the hit paths count in closure variables, the rest in the shared counters object).

import type { Counters } from './counters.js'
import type { L1 } from './l1.js'
import type { RedisStore } from './redis-store.js'
import type { CacheStats } from './types.js'

export function snapshotStats(
  l1Hits: number,
  l1: L1,
  counters: Counters,
  store: RedisStore | undefined,
  inflight: number,
  recoveryPending: number,
): CacheStats {
  return {
    l1: { hits: l1Hits, size: l1.size, bytes: l1.bytes },
    l2: { hits: counters.l2Hits, errors: store?.errors ?? 0, state: store?.gateState ?? 'none' },
    misses: counters.misses,
    coalesced: counters.coalesced,
    staleServed: counters.staleServed,
    earlyRefreshes: counters.earlyRefreshes,
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
