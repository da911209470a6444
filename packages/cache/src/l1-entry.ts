// The one shape L1 holds, and the one way entries get into it: every tier read and write
// goes through `toL1`, which precomputes when XFetch may start firing for the entry.

import type { Entry } from './entry.js'
import type { GroupCounters, KeyGroups } from './key-groups.js'
import type { L1 } from './l1.js'

/**
 * What L1 holds: one class, so every entry has the same hidden class and the hit path's
 * property reads stay monomorphic (entries parsed from L2 and built by `set` differ).
 */
export class L1Entry implements Entry {
  constructor(
    public v: unknown,
    public e: number,
    public s: number,
    public d: number,
    public w: number | undefined,
    public t: string[] | undefined,
    /** Before this time XFetch cannot fire: lets the hit path skip the random draw. */
    public r: number,
    /** The counters of the key's group: an L1 hit counts there, without matching prefixes. */
    public g: GroupCounters,
    /** L1 hits of this entry: what the hot-key prefetcher ranks keys by. */
    public h: number,
  ) {}
}

/** -ln(p) beyond which an XFetch draw is negligible (p = 4.5e-5). */
const XFETCH_HORIZON = 10

/** Stores `entry` in L1 (`bytes`: its estimated size) and returns what L1 now holds. */
export type ToL1 = (key: string, entry: Entry, bytes: number) => L1Entry

/** `beta`: the `earlyRefresh` option, which scales the XFetch window. */
export function createToL1(l1: L1, beta: number, groups: KeyGroups): ToL1 {
  return function toL1(key: string, entry: Entry, bytes: number): L1Entry {
    const refreshFrom =
      beta > 0 && entry.d > 0 ? entry.e - entry.d * beta * XFETCH_HORIZON : Number.POSITIVE_INFINITY
    // A rewritten entry keeps its key's hit count: a refresh must not make a hot key look cold.
    const previous = l1.peek(key) as L1Entry | undefined
    const l1Entry = new L1Entry(
      entry.v,
      entry.e,
      entry.s,
      entry.d,
      entry.w,
      entry.t,
      refreshFrom,
      previous?.g ?? groups.of(key),
      previous?.h ?? 0,
    )
    l1.set(key, l1Entry, bytes)
    return l1Entry
  }
}
