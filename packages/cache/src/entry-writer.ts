// The one write path of both tiers, shared by `set` and by loads that computed a value:
// a load overtaken by an invalidation writes nothing, an explicit `set` always writes.

import type { Clock } from '@headroom/core'
import type { CacheSignals } from './cache-signals.js'
import { type Entry, encodeEntry } from './entry.js'
import type { L1Coherence } from './l1-coherence.js'
import type { ToL1 } from './l1-entry.js'
import type { LoadRegistry } from './load-registry.js'
import type { RedisStore } from './redis-store.js'
import type { TtlPolicy } from './ttl.js'
import type { SetOptions } from './types.js'

/** Validates and stores a value in both tiers; throws input errors before changing anything. */
export type WriteEntry = (
  key: string,
  value: unknown,
  options: SetOptions | undefined,
  duration: number,
  /** The generation a load started at; `undefined` for an explicit `set`, which always writes. */
  startGeneration: number | undefined,
) => Promise<void>

export interface EntryWriterOptions {
  clock: Clock
  ttlPolicy: TtlPolicy
  /** The default grace, in ms. */
  grace: number
  store: RedisStore | undefined
  registry: Pick<LoadRegistry, 'inflight' | 'reads' | 'invalidatedDuringLoad' | 'stillValid'>
  toL1: ToL1
  storeError: CacheSignals['storeError']
  /** Tells the other instances (the bus). */
  publish: L1Coherence['publish']
}

export function createEntryWriter(deps: EntryWriterOptions): WriteEntry {
  const { clock, ttlPolicy, grace, store, toL1, storeError, publish } = deps
  const { inflight, reads, invalidatedDuringLoad, stillValid } = deps.registry

  return async function write(key, value, options, duration, startGeneration): Promise<void> {
    const ttl = ttlPolicy.ttlFor(key, options?.ttl)
    const entryGrace = options?.grace ?? grace
    const now = clock.now()
    const tags = options?.tags
    const entry: Entry = {
      v: value,
      e: now + ttl,
      s: now + ttl + entryGrace,
      d: duration,
      w: (Math.random() * 0x7fffffff) | 0,
    }
    if (tags !== undefined && tags.length > 0) entry.t = tags
    const payload = encodeEntry(entry, key)
    if (startGeneration === undefined) {
      // An explicit set wins over any load of this key still in flight.
      if (inflight.has(key) || reads.has(key)) invalidatedDuringLoad.set(key, undefined)
    } else if (!stillValid(key, startGeneration, undefined, tags)) return
    toL1(key, entry, payload.length * 2)
    if (!store) return
    try {
      await store.set(key, payload, ttl + entryGrace, entry.t)
    } catch (error) {
      storeError('set', error)
    }
    await publish({ keys: [key], written: entry.w })
  }
}
