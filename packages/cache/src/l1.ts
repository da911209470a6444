import { LRUCache } from 'lru-cache'
import type { Entry } from './entry.js'

/** The in-process tier: an LRU bounded by count and optionally by estimated bytes, no timers. */
export interface L1 {
  get(key: string): Entry | undefined
  /** Reads without touching recency. */
  peek(key: string): Entry | undefined
  /** `size`: estimated bytes, used only when `maxSize` is set. */
  set(key: string, entry: Entry, size: number): void
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

export function createL1(max: number, maxSize: number | undefined): L1 {
  // Keys by tag, so invalidating a tag touches its entries only, not the whole LRU.
  // lru-cache reports every way an entry leaves (delete, eviction, overwrite, clear)
  // through `dispose`, synchronously, which keeps the index exact.
  const tagged = new Map<string, Set<string>>()
  let evictions = 0
  let shedTotal = 0
  // `shrink` drops entries through lru-cache's own eviction: they count as shed, not evicted.
  let shrinking = false
  const unindex = (entry: Entry, key: string, reason: LRUCache.DisposeReason) => {
    if (reason === 'evict' && !shrinking) evictions++
    if (!entry.t) return
    for (const tag of entry.t) {
      const keys = tagged.get(tag)
      if (!keys) continue
      keys.delete(key)
      if (keys.size === 0) tagged.delete(tag)
    }
  }
  // No `ttl` here: entries carry their own expiry and the hit path checks it with the
  // time it already read, so lru-cache does no clock work of its own.
  const lru = new LRUCache<string, Entry>(
    maxSize === undefined
      ? { max, dispose: unindex }
      : { max, maxSize, sizeCalculation: (_v, key) => key.length * 2 + 64, dispose: unindex },
  )
  const sized = maxSize !== undefined
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
    set(key, entry, size) {
      if (sized) lru.set(key, entry, { size: Math.max(1, Math.min(size, maxSize)) })
      else lru.set(key, entry)
      // Indexed after the set: overwriting disposes (unindexes) the old entry first.
      if (entry.t && entry.t.length > 0 && lru.peek(key) === entry) {
        for (const tag of entry.t) {
          const keys = tagged.get(tag)
          if (keys) keys.add(key)
          else tagged.set(tag, new Set([key]))
        }
      }
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
