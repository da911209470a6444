// The one write path of both tiers, shared by `set` and by loads that computed a value:
// a load overtaken by an invalidation writes nothing, an explicit `set` always writes.

import type { Clock } from '@headroom/core'
import type { CacheSignals } from './cache-signals.js'
import type { Codec, Entry } from './entry.js'
import type { L1Coherence } from './l1-coherence.js'
import type { ToL1 } from './l1-entry.js'
import type { LoadRegistry } from './load-registry.js'
import type { Recovery, RecoveryOp } from './recovery.js'
import type { RedisStore } from './redis-store.js'
import type { TtlPolicy } from './ttl.js'
import type { SetOptions } from './types.js'

/**
 * Validates and stores a value in both tiers; throws input errors before changing anything.
 * Resolves with the value as the tiers hold it (what the serializer gives back).
 */
export type WriteEntry = (
  key: string,
  value: unknown,
  options: SetOptions | undefined,
  duration: number,
  /** The generation a load started at; `undefined` for an explicit `set`, which always writes. */
  startGeneration: number | undefined,
) => Promise<unknown>

export interface EntryWriterOptions {
  clock: Clock
  ttlPolicy: TtlPolicy
  /** The default grace, in ms. */
  grace: number
  encode: Codec['encode']
  store: RedisStore | undefined
  registry: Pick<LoadRegistry, 'inflight' | 'reads' | 'invalidatedDuringLoad' | 'stillValid' | 'markKey'>
  toL1: ToL1
  storeError: CacheSignals['storeError']
  /** Tells the other instances (the bus), reporting a failure. */
  publish: L1Coherence['publish']
  /** Tells the other instances, rejecting on failure. */
  send: L1Coherence['send']
  /** Queues (or refuses) an explicit write Redis did not take; `undefined` without Redis. */
  recovery: Recovery | undefined
}

export function createEntryWriter(deps: EntryWriterOptions): WriteEntry {
  const { clock, ttlPolicy, grace, encode, store, toL1, storeError, publish, send, recovery } = deps
  const { inflight, reads, invalidatedDuringLoad, stillValid, markKey } = deps.registry

  return async function write(key, value, options, duration, startGeneration): Promise<unknown> {
    const ttl = ttlPolicy.ttlFor(key, options?.ttl)
    const entryGrace = options?.grace ?? grace
    const now = clock.now()
    const tags = options?.tags
    const entry: Entry = {
      v: value,
      e: now + ttl,
      s: now + ttl + entryGrace,
      d: duration,
      c: now,
      w: (Math.random() * 0x7fffffff) | 0,
    }
    if (tags !== undefined && tags.length > 0) entry.t = tags
    const payload = encode(entry, key)
    const stored = entry.v
    if (startGeneration === undefined) {
      // An explicit set wins over any load of this key still in flight.
      if (inflight.has(key) || reads.has(key)) invalidatedDuringLoad.set(key, undefined)
    } else if (!stillValid(key, startGeneration, undefined, tags)) return stored
    toL1(key, entry, payload.length * 2)
    if (!store) return stored
    const pxMs = ttl + entryGrace
    // Only explicit writes are recovered: a factory's result is recomputed by the next miss.
    const explicit = startGeneration === undefined
    let written: boolean
    try {
      written = await store.set(key, payload, pxMs, entry.t, now)
    } catch (error) {
      storeError('set', error)
      if (explicit) recovery?.failed(setOperation(key, entry, payload, pxMs, now), error)
      return stored
    }
    if (!written) {
      // L2 holds an entry written later (by another instance): ours must not linger in L1.
      markKey(key)
      return stored
    }
    const message = { keys: [key], written: entry.w }
    if (!explicit) {
      await publish(message)
      return stored
    }
    try {
      await send(message)
    } catch (error) {
      storeError('publish', error)
      const op = setOperation(key, entry, payload, pxMs, now)
      op.stored = 'applied'
      recovery?.failed(op, error)
    }
    return stored
  }
}

function setOperation(
  key: string,
  entry: Entry,
  payload: string,
  pxMs: number,
  at: number,
): Extract<RecoveryOp, { operation: 'set' }> {
  return { operation: 'set', key, at, payload, pxMs, tags: entry.t, staleUntil: entry.s, written: entry.w }
}
