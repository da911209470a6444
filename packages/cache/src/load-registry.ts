// The bookkeeping of loads in flight (L2 reads, factory calls) and of the invalidations
// that overtake them: a load overtaken by an invalidation must not write back what it got.

import type { Entry } from './entry.js'
import { InvalidationClock } from './invalidation-clock.js'
import type { L1 } from './l1.js'

export interface LoadRegistry {
  /** Loads in flight by key (L2 read + factory): concurrent callers share one. */
  readonly inflight: Map<string, Promise<unknown>>
  /** L2 reads in flight for `get`/`getMany`. */
  readonly reads: Map<string, Promise<Entry | undefined>>
  /**
   * Keys invalidated while a load of them was in flight: that load must not write back,
   * unless what it read is the very write that caused the invalidation (its write id).
   */
  readonly invalidatedDuringLoad: Map<string, number | undefined>
  /** Tag invalidations and flushes, which spoil the loads of the keys they touch. */
  readonly invalidations: InvalidationClock
  /** Drops `key` from L1 and spoils its loads in flight (`written`: the write that caused it). */
  markKey(key: string, written?: number): void
  /**
   * May this load still write what it got? Not if the key, or one of the tags it carries
   * (the entry's, or those it is about to be written with), was invalidated meanwhile.
   */
  stillValid(key: string, startGeneration: number, entry?: Entry, tags?: readonly string[]): boolean
  /** Ends a load: later callers start their own. */
  finish(key: string): void
  /** Registers `work` as the load of `key` until it settles. */
  share<T>(key: string, work: () => Promise<T>): Promise<T>
}

export function createLoadRegistry(l1: L1): LoadRegistry {
  const inflight = new Map<string, Promise<unknown>>()
  const reads = new Map<string, Promise<Entry | undefined>>()
  const invalidatedDuringLoad = new Map<string, number | undefined>()
  const invalidations = new InvalidationClock()

  function markKey(key: string, written?: number): void {
    l1.delete(key)
    if (inflight.has(key) || reads.has(key)) invalidatedDuringLoad.set(key, written)
  }

  function stillValid(
    key: string,
    startGeneration: number,
    entry?: Entry,
    tags: readonly string[] | undefined = entry?.t,
  ): boolean {
    if (invalidations.spoils(startGeneration, tags)) return false
    if (!invalidatedDuringLoad.has(key)) return true
    const written = invalidatedDuringLoad.get(key)
    return written !== undefined && entry?.w === written
  }

  function finish(key: string): void {
    inflight.delete(key)
    if (invalidatedDuringLoad.size > 0 && !reads.has(key)) invalidatedDuringLoad.delete(key)
  }

  function share<T>(key: string, work: () => Promise<T>): Promise<T> {
    const pending = work()
    inflight.set(key, pending)
    const forget = () => {
      if (inflight.get(key) === pending) inflight.delete(key)
      if (!inflight.has(key) && !reads.has(key)) invalidatedDuringLoad.delete(key)
    }
    pending.then(forget, forget)
    return pending
  }

  return { inflight, reads, invalidatedDuringLoad, invalidations, markKey, stillValid, finish, share }
}
