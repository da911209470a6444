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
  readonly size: number
  readonly bytes: number
}

export function createL1(max: number, maxSize: number | undefined): L1 {
  // No `ttl` here: entries carry their own expiry and the hit path checks it with the
  // time it already read, so lru-cache does no clock work of its own.
  const lru = new LRUCache<string, Entry>(
    maxSize === undefined ? { max } : { max, maxSize, sizeCalculation: (_v, key) => key.length * 2 + 64 },
  )
  const sized = maxSize !== undefined
  return {
    get: (key) => lru.get(key),
    peek: (key) => lru.peek(key),
    set(key, entry, size) {
      if (sized) lru.set(key, entry, { size: Math.max(1, Math.min(size, maxSize)) })
      else lru.set(key, entry)
    },
    delete: (key) => lru.delete(key),
    deleteTagged(tags) {
      // Collect first: deleting while lru-cache iterates would skip entries.
      const doomed: string[] = []
      for (const [key, entry] of lru.entries()) {
        if (entry.t?.some((tag) => tags.has(tag))) doomed.push(key)
      }
      for (const key of doomed) lru.delete(key)
      return doomed.length
    },
    clear: () => lru.clear(),
    shrink(fraction) {
      const target = Math.ceil(lru.size * Math.min(1, Math.max(0, fraction)))
      let removed = 0
      while (removed < target && lru.pop() !== undefined) removed++
      return removed
    },
    get size() {
      return lru.size
    },
    get bytes() {
      return lru.calculatedSize ?? 0
    },
  }
}
