// Refreshes the hottest keys before they expire while the process is idle enough, so a TTL
// wave does not turn the most read keys into misses at once.
//
// Ranking costs the hit path one increment: each L1 entry counts its own hits. The
// candidates are the keys loaded through `getOrSet` (the only ones with a factory to call),
// held boundedly: a small `hot` set (the last tick's top `keys`) and an LRU of recent loads
// that cold misses churn without pushing the hot keys out. Each tick scores candidates by
// their hits since the previous tick (halving the older score), keeps the top `keys`, and
// refreshes up to `maxPerTick` of them whose entry expires within `aheadMs`.

import type { Clock, Logger } from '@headroom/core'
import { LRUCache } from 'lru-cache'
import type { CacheSignals } from '../metrics/cache-signals.js'
import type { PrefetchSettings } from '../options/options.js'
import type { L1, L1Entry } from '../tiers/l1.js'
import type { TimerSet } from '../time/timer-set.js'
import type { Factory, GetOrSetOptions } from '../types.js'

interface Candidate {
  factory: Factory<unknown>
  options: GetOrSetOptions | undefined
  /** The entry's hit count at the previous tick. */
  seen: number
  score: number
}

export interface Prefetcher {
  /** Called on each getOrSet load: this key can be refreshed with this factory. */
  remember(key: string, factory: Factory<unknown>, options: GetOrSetOptions | undefined): void
  /** One ranking and refresh pass; returns how many refreshes it started. */
  tick(): number
  /** The keys the last pass ranked hottest, hottest first. */
  hottest(): string[]
}

export function startPrefetcher(
  settings: PrefetchSettings,
  deps: {
    clock: Clock
    l1: L1
    signals: CacheSignals
    timers: TimerSet
    logger: Logger
    isClosed: () => boolean
    /** Starts a background refresh (the early-refresh path); false when one already runs. */
    refresh: (key: string, entry: L1Entry, factory: Factory<unknown>, options?: GetOrSetOptions) => boolean
  },
): Prefetcher {
  const { clock, l1, signals, logger } = deps
  const hot = new Map<string, Candidate>()
  const recent = new LRUCache<string, Candidate>({ max: settings.maxCandidates })

  function remember(key: string, factory: Factory<unknown>, options: GetOrSetOptions | undefined) {
    const known = hot.get(key)
    if (known !== undefined) {
      known.factory = factory
      known.options = options
      return
    }
    const candidate = recent.get(key)
    if (candidate !== undefined) {
      candidate.factory = factory
      candidate.options = options
    } else recent.set(key, { factory, options, seen: 0, score: 0 })
  }

  function tick(): number {
    let idle: boolean
    try {
      idle = settings.idle()
    } catch (error) {
      logger.debug({ err: error }, 'cache prefetch idle signal threw; no prefetch this tick')
      idle = false
    }
    const ranked: [string, Candidate][] = []
    const score = (key: string, candidate: Candidate) => {
      const entry = l1.peek(key)
      const hits = entry === undefined ? candidate.seen : entry.hits
      // A new entry (after an eviction) restarts its count below the one seen.
      const fresh = hits >= candidate.seen ? hits - candidate.seen : hits
      candidate.seen = hits
      candidate.score = candidate.score / 2 + fresh
      if (candidate.score >= 1) ranked.push([key, candidate])
    }
    for (const [key, candidate] of hot) score(key, candidate)
    for (const [key, candidate] of recent.entries()) score(key, candidate)
    ranked.sort((a, b) => b[1].score - a[1].score)
    const top = ranked.slice(0, settings.keys)
    // Hot keys move to `hot`; those that fell out go back among the recent candidates.
    const winners = new Set(top.map(([key]) => key))
    for (const [key, candidate] of hot) {
      if (!winners.has(key)) {
        hot.delete(key)
        recent.set(key, candidate)
      }
    }
    for (const [key, candidate] of top) {
      recent.delete(key)
      hot.set(key, candidate)
    }
    if (!idle) return 0
    const now = clock.now()
    let started = 0
    for (const [key, candidate] of top) {
      if (started >= settings.maxPerTick) break
      const entry = l1.peek(key)
      if (entry === undefined || entry.freshUntil - now > settings.aheadMs) continue
      if (deps.refresh(key, entry, candidate.factory, candidate.options)) {
        signals.prefetchStarted()
        started++
      }
    }
    return started
  }

  const schedule = () => {
    deps.timers.start(() => {
      if (deps.isClosed()) return
      tick()
      schedule()
    }, settings.intervalMs)
  }
  schedule()
  return {
    remember,
    tick,
    hottest: () => [...hot].sort((a, b) => b[1].score - a[1].score).map(([key]) => key),
  }
}
