// `getMany`: the L1 pass, then one batched L2 read of the keys missing, which joins the L2
// reads of those keys already in flight and registers itself so that a `get` can join it.

import type { Clock } from '@headroom/core'
import type { CacheSignals } from './cache-signals.js'
import type { Counters } from './counters.js'
import { assertKey, type Codec, type Entry } from './entry.js'
import type { L1 } from './l1.js'
import type { L1Entry, ToL1 } from './l1-entry.js'
import type { LoadRegistry } from './load-registry.js'
import type { RedisStore } from './redis-store.js'
import type { TickTime } from './tick-time.js'

export interface GetManyOptions {
  clock: Clock
  /** The hit path's time source. */
  hitTime: TickTime
  counters: Counters
  l1: L1
  store: RedisStore | undefined
  registry: Pick<LoadRegistry, 'reads' | 'invalidatedDuringLoad' | 'invalidations' | 'stillValid'>
  toL1: ToL1
  decode: Codec['decode']
  signals: Pick<CacheSignals, 'served' | 'storeError'>
}

export interface GetMany {
  getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]>
}

export function createGetMany(deps: GetManyOptions): GetMany {
  const { clock, hitTime, counters, l1, store, toL1, decode } = deps
  const { reads, invalidatedDuringLoad, invalidations, stillValid } = deps.registry
  const { served, storeError } = deps.signals
  /** A key neither tier answered: counted for the hit rate (no factory runs here). */
  const readMissed = (key: string) => {
    counters.readMisses++
    counters.groups.of(key).misses++
  }

  async function getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]> {
    for (const key of keys) assertKey(key)
    const now = hitTime.now()
    const results: (T | undefined)[] = new Array(keys.length)
    const stale: (Entry | undefined)[] = new Array(keys.length)
    const missing: number[] = []
    for (let i = 0; i < keys.length; i++) {
      const entry = l1.get(keys[i]!) as L1Entry | undefined
      if (entry !== undefined && now < entry.e) {
        entry.g.l1Hits++
        entry.h++
        results[i] = entry.v as T
      } else {
        stale[i] = entry !== undefined && now < entry.s ? entry : undefined
        missing.push(i)
      }
    }
    if (missing.length === 0) return results
    if (!store) {
      for (const i of missing) readMissed(keys[i]!)
      return results
    }
    // Keys already being read join that read; the rest go out in one batch.
    const joined = new Map<number, Promise<Entry | undefined>>()
    const batch: number[] = []
    const seen = new Set<string>()
    for (const i of missing) {
      const key = keys[i]!
      const pending = reads.get(key)
      if (pending) joined.set(i, pending)
      else if (!seen.has(key)) {
        seen.add(key)
        batch.push(i)
      } else joined.set(i, Promise.resolve(undefined))
    }
    const startGeneration = invalidations.generation
    const batchKeys = batch.map((i) => keys[i]!)
    const fromBatch = new Map<string, Entry | undefined>()
    const batchRead = store.getMany(batchKeys).then((raws) => {
      const at = clock.now()
      for (let j = 0; j < batchKeys.length; j++) {
        const key = batchKeys[j]!
        const raw = raws[j]
        const entry = decode(raw)
        if (entry !== undefined && at < entry.e) {
          counters.l2Hits++
          counters.groups.of(key).l2Hits++
          fromBatch.set(key, entry)
          if (stillValid(key, startGeneration, entry)) toL1(key, entry, raw!.length * 2)
        }
      }
    })
    // Register the batch per key, so a `get` of one of these keys joins it.
    for (const key of batchKeys) {
      invalidatedDuringLoad.delete(key)
      const perKey = batchRead.then(() => fromBatch.get(key))
      perKey.catch(() => {})
      reads.set(key, perKey)
      const forget = () => {
        if (reads.get(key) === perKey) reads.delete(key)
      }
      perKey.then(forget, forget)
    }
    try {
      await batchRead
      for (const [i, pending] of joined) {
        const entry = await pending.catch(() => undefined)
        const key = keys[i]!
        const fresh = entry !== undefined && clock.now() < entry.e ? entry : fromBatch.get(key)
        if (fresh !== undefined) results[i] = fresh.v as T
      }
      for (const i of missing) {
        if (results[i] === undefined) results[i] = fromBatch.get(keys[i]!)?.v as T | undefined
        if (results[i] === undefined) readMissed(keys[i]!)
      }
    } catch (error) {
      storeError('getMany', error)
      for (const i of missing) {
        readMissed(keys[i]!)
        const entry = stale[i]
        if (entry !== undefined) {
          served(keys[i]!, 'store-unavailable')
          results[i] = entry.v as T
        }
      }
    }
    return results
  }

  return { getMany }
}
