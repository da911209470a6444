// Hit and miss counts by key group (a key prefix, or a name from a caller's function), with
// a bounded number of groups. Each L1 entry holds its group's counters, so an L1 hit counts
// with one property increment and no prefix matching; the miss path resolves the group.

import type { GroupCounters, GroupStats } from '../types.js'

/** How keys are grouped: prefixes (the longest match wins) or a function naming the group. */
export type KeyGrouping = readonly string[] | ((key: string) => string)

/** The group of keys no prefix matches, and of names past `maxGroups`. */
export const OTHER_GROUP = 'other'

export interface KeyGroups {
  /** The counters of `key`'s group. */
  of(key: string): GroupCounters
  /** Sums over every group. */
  totals(): GroupCounters
  /** Per-group figures; empty when no grouping is configured. */
  snapshot(): Record<string, GroupStats>
}

export const hitRate = (c: GroupCounters): number => {
  const reads = c.l1Hits + c.l2Hits + c.misses
  return reads === 0 ? 0 : (c.l1Hits + c.l2Hits) / reads
}

export function createKeyGroups(grouping: KeyGrouping | undefined, maxGroups: number): KeyGroups {
  const other: GroupCounters = { l1Hits: 0, l2Hits: 0, misses: 0 }
  const byName = new Map<string, GroupCounters>()
  const named = (name: string): GroupCounters => {
    let counters = byName.get(name)
    if (counters === undefined) {
      // Bounded: a function returning user ids must not grow this map (or the metric labels).
      if (byName.size >= maxGroups || name === OTHER_GROUP) return other
      counters = { l1Hits: 0, l2Hits: 0, misses: 0 }
      byName.set(name, counters)
    }
    return counters
  }
  let of: (key: string) => GroupCounters
  if (grouping === undefined || (Array.isArray(grouping) && grouping.length === 0)) {
    of = () => other
  } else if (typeof grouping === 'function') {
    of = (key) => {
      const name = grouping(key)
      return typeof name === 'string' && name.length > 0 ? named(name) : other
    }
  } else {
    // Longest prefix first, so 'content:item:' wins over 'content:'.
    const prefixes = [...new Set(grouping as readonly string[])].sort((a, b) => b.length - a.length)
    for (const prefix of prefixes.slice(0, maxGroups)) named(prefix)
    of = (key) => {
      for (const prefix of prefixes) if (key.startsWith(prefix)) return byName.get(prefix) ?? other
      return other
    }
  }
  const configured = grouping !== undefined && !(Array.isArray(grouping) && grouping.length === 0)
  return {
    of,
    totals() {
      const sum: GroupCounters = { ...other }
      for (const c of byName.values()) {
        sum.l1Hits += c.l1Hits
        sum.l2Hits += c.l2Hits
        sum.misses += c.misses
      }
      return sum
    },
    snapshot() {
      const result: Record<string, GroupStats> = {}
      if (!configured) return result
      for (const [name, c] of byName) result[name] = { ...c, hitRate: hitRate(c) }
      result[OTHER_GROUP] = { ...other, hitRate: hitRate(other) }
      return result
    },
  }
}
