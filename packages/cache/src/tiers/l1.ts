// The in-process tier: an LRU bounded by count and optionally by estimated bytes, no timers,
// with an index of keys by tag. Every entry gets in through `store`, which builds the one
// shape L1 holds and precomputes when XFetch may start firing for it.

import { LRUCache } from 'lru-cache'
import type { KeyGroups } from '../metrics/key-groups.js'
import type { GroupCounters } from '../types.js'
import type { Entry } from './entry.js'

/**
 * What L1 holds: one class, so every entry has the same hidden class and the hit path's
 * property reads stay monomorphic (entries parsed from L2 and built by `set` differ).
 */
export class L1Entry implements Entry {
  value: unknown
  freshUntil: number
  staleUntil: number
  factoryMs: number
  writeId: number | undefined
  tags: string[] | undefined
  /** Before this time XFetch cannot fire: lets the hit path skip the random draw. */
  refreshFrom: number
  /** The counters of the key's group: an L1 hit counts there, without matching prefixes. */
  group: GroupCounters
  /** L1 hits of this entry: what the hot-key prefetcher ranks keys by. */
  hits: number

  /** Every field assigned here, in one order: one hidden class for every entry. */
  constructor(entry: Entry, refreshFrom: number, group: GroupCounters, hits: number) {
    this.value = entry.value
    this.freshUntil = entry.freshUntil
    this.staleUntil = entry.staleUntil
    this.factoryMs = entry.factoryMs
    this.writeId = entry.writeId
    this.tags = entry.tags
    this.refreshFrom = refreshFrom
    this.group = group
    this.hits = hits
  }

  /** Counts an L1 hit, on the entry and on its key's group. */
  countHit(): void {
    this.group.l1Hits++
    this.hits++
  }
}

/** -ln(p) beyond which an XFetch draw is negligible (p = 4.5e-5). */
const XFETCH_HORIZON = 10

export interface L1Settings {
  /** Most entries kept. */
  max: number
  /** Most estimated bytes kept; unbounded when `undefined`. */
  maxSize: number | undefined
  /** The `earlyRefresh` option, which scales the XFetch window; 0 turns XFetch off. */
  earlyRefresh: number
  /** Where each key's hits and misses count. */
  groups: KeyGroups
}

/** The in-process tier: an LRU bounded by count and optionally by estimated bytes, no timers. */
export interface L1 {
  get(key: string): L1Entry | undefined
  /** Reads without touching recency. */
  peek(key: string): L1Entry | undefined
  /**
   * Stores `entry` (`bytes`: its estimated size, used only when `maxSize` is set) and
   * returns what L1 now holds. Loads call it through the load registry, which decides
   * whether they still may.
   */
  store(key: string, entry: Entry, bytes: number): L1Entry
  delete(key: string): boolean
  /** Drops every entry carrying one of `tags`; returns how many went. */
  deleteTagged(tags: ReadonlySet<string>): number
  clear(): void
  /** Evicts the least recently used `fraction` of entries; returns how many went. */
  shrink(fraction: number): number
  /** Evicts up to `count` least recently used entries; returns how many went. */
  shed(count: number): number
  readonly size: number
  readonly bytes: number
  /** Entries dropped because L1 was full (count or bytes), since start. */
  readonly evictions: number
  /** Entries dropped by `shrink` or `shed` (memory pressure), since start. */
  readonly shedCount: number
}

export function createL1(settings: L1Settings): L1 {
  const { max, maxSize, earlyRefresh: beta, groups } = settings
  // Keys by tag, so invalidating a tag touches its entries only, not the whole LRU.
  // lru-cache reports every way an entry leaves (delete, eviction, overwrite, clear)
  // through `dispose`, synchronously, which keeps the index exact.
  const tagged = new Map<string, Set<string>>()
  let evictions = 0
  let shedTotal = 0
  // `shrink` drops entries through lru-cache's own eviction: they count as shed, not evicted.
  let shrinking = false
  const unindex = (entry: L1Entry, key: string, reason: LRUCache.DisposeReason) => {
    if (reason === 'evict' && !shrinking) evictions++
    if (!entry.tags) return
    for (const tag of entry.tags) {
      const keys = tagged.get(tag)
      if (!keys) continue
      keys.delete(key)
      if (keys.size === 0) tagged.delete(tag)
    }
  }
  // No `ttl` here: entries carry their own expiry and the hit path checks it with the
  // time it already read, so lru-cache does no clock work of its own.
  const lru = new LRUCache<string, L1Entry>(
    maxSize === undefined
      ? { max, dispose: unindex }
      : { max, maxSize, sizeCalculation: (_v, key) => key.length * 2 + 64, dispose: unindex },
  )
  function shed(target: number): number {
    let removed = 0
    shrinking = true
    try {
      while (removed < target && lru.pop() !== undefined) removed++
    } finally {
      shrinking = false
    }
    shedTotal += removed
    return removed
  }
  return {
    get: (key) => lru.get(key),
    peek: (key) => lru.peek(key),
    store(key, entry, bytes) {
      const refreshFrom =
        beta > 0 && entry.factoryMs > 0
          ? entry.freshUntil - entry.factoryMs * beta * XFETCH_HORIZON
          : Number.POSITIVE_INFINITY
      // A rewritten entry keeps its key's hit count: a refresh must not make a hot key look cold.
      const previous = lru.peek(key)
      const held = new L1Entry(entry, refreshFrom, previous?.group ?? groups.of(key), previous?.hits ?? 0)
      if (maxSize !== undefined) lru.set(key, held, { size: Math.max(1, Math.min(bytes, maxSize)) })
      else lru.set(key, held)
      // Indexed after the set: overwriting disposes (unindexes) the old entry first.
      if (held.tags && held.tags.length > 0 && lru.peek(key) === held) {
        for (const tag of held.tags) {
          const keys = tagged.get(tag)
          if (keys) keys.add(key)
          else tagged.set(tag, new Set([key]))
        }
      }
      return held
    },
    delete: (key) => lru.delete(key),
    deleteTagged(tags) {
      // Collect first: each delete edits the index being read.
      const doomed = new Set<string>()
      for (const tag of tags) {
        const keys = tagged.get(tag)
        if (keys) for (const key of keys) doomed.add(key)
      }
      for (const key of doomed) lru.delete(key)
      return doomed.size
    },
    clear: () => {
      lru.clear()
      tagged.clear()
    },
    shrink(fraction) {
      return shed(Math.ceil(lru.size * Math.min(1, Math.max(0, fraction))))
    },
    shed,
    get size() {
      return lru.size
    },
    get bytes() {
      return lru.calculatedSize ?? 0
    },
    get evictions() {
      return evictions
    },
    get shedCount() {
      return shedTotal
    },
  }
}
