// The reads that run no factory: `get` past L1, `getMany`'s batched L2 read, and `warm`.
// Each registers its L2 reads with the load registry (so a `get` joins a read in flight,
// and an invalidation overtaking one keeps it out of L1) and counts what it found.

import type { Entry } from '../tiers/entry.js'
import type { RedisStore } from '../tiers/redis-store.js'
import type { LoadContext } from './load-context.js'

/** Keys read per MGET by `warm`: large enough to amortise round trips, small enough for one command timeout. */
const WARM_CHUNK = 500

/** Reads L2 once per key at a time; a fresh entry lands in L1. Throws when Redis fails. */
export function readL2(ctx: LoadContext, store: RedisStore, key: string): Promise<Entry | undefined> {
  const { loads } = ctx
  const joined = loads.readOf(key)
  if (joined) return joined
  const ticket = loads.begin(key)
  const batch = store.read(key)
  const index = store.lastIndex
  const pending = batch.then((raws) => {
    const raw = raws[index]
    const entry = ctx.codec.decode(raw)
    if (entry !== undefined && ctx.clock.now() < entry.freshUntil) {
      ctx.signals.l2Hit(key)
      loads.admitRead(key, ticket, entry, raw!.length * 2)
    }
    return entry
  })
  loads.registerRead(key, pending)
  return pending
}

/**
 * `getMany`: the L1 pass, then one batched L2 read of the keys missing, which joins the L2
 * reads of those keys already in flight and registers itself so that a `get` can join it.
 */
export async function readMany<T>(ctx: LoadContext, keys: readonly string[]): Promise<(T | undefined)[]> {
  const { clock, hitTime, l1, signals, loads, store } = ctx
  const now = hitTime.now()
  const results: (T | undefined)[] = new Array(keys.length)
  const stale: (Entry | undefined)[] = new Array(keys.length)
  const missing: number[] = []
  for (let i = 0; i < keys.length; i++) {
    const entry = l1.get(keys[i]!)
    if (entry !== undefined && now < entry.freshUntil) {
      entry.countHit()
      results[i] = entry.value as T
    } else {
      stale[i] = entry !== undefined && now < entry.staleUntil ? entry : undefined
      missing.push(i)
    }
  }
  if (missing.length === 0) return results
  if (!store) {
    for (const i of missing) signals.readMissed(keys[i]!)
    return results
  }
  // Keys already being read join that read; the rest go out in one batch.
  const joined = new Map<number, Promise<Entry | undefined>>()
  const batch: number[] = []
  const seen = new Set<string>()
  for (const i of missing) {
    const key = keys[i]!
    const pending = loads.readOf(key)
    if (pending) joined.set(i, pending)
    else if (!seen.has(key)) {
      seen.add(key)
      batch.push(i)
    } else joined.set(i, Promise.resolve(undefined))
  }
  const batchKeys = batch.map((i) => keys[i]!)
  const ticket = loads.beginMany(batchKeys)
  const fromBatch = new Map<string, Entry | undefined>()
  const batchRead = store.getMany(batchKeys).then((raws) => {
    const at = clock.now()
    for (let j = 0; j < batchKeys.length; j++) {
      const key = batchKeys[j]!
      const raw = raws[j]
      const entry = ctx.codec.decode(raw)
      if (entry !== undefined && at < entry.freshUntil) {
        signals.l2Hit(key)
        fromBatch.set(key, entry)
        loads.admitRead(key, ticket, entry, raw!.length * 2)
      }
    }
  })
  // Register the batch per key, so a `get` of one of these keys joins it.
  for (const key of batchKeys) {
    const perKey = batchRead.then(() => fromBatch.get(key))
    perKey.catch(() => {})
    loads.registerRead(key, perKey)
  }
  try {
    await batchRead
    for (const [i, pending] of joined) {
      const entry = await pending.catch(() => undefined)
      const key = keys[i]!
      const fresh = entry !== undefined && clock.now() < entry.freshUntil ? entry : fromBatch.get(key)
      if (fresh !== undefined) results[i] = fresh.value as T
    }
    for (const i of missing) {
      if (results[i] === undefined) results[i] = fromBatch.get(keys[i]!)?.value as T | undefined
      if (results[i] === undefined) signals.readMissed(keys[i]!)
    }
  } catch (error) {
    signals.storeError('getMany', error)
    for (const i of missing) {
      signals.readMissed(keys[i]!)
      const entry = stale[i]
      if (entry !== undefined) {
        signals.served(keys[i]!, 'store-unavailable')
        results[i] = entry.value as T
      }
    }
  }
  return results
}

/**
 * Fills L1 from L2 without counting hits: the keys fresh in L1 are skipped, the rest read
 * in chunks (one MGET per chunk, per hash slot on a Cluster). Returns how many landed.
 */
export async function warmFromL2(
  ctx: LoadContext,
  store: RedisStore,
  keys: readonly string[],
  isClosed: () => boolean,
): Promise<number> {
  const { clock, l1, loads } = ctx
  let warmed = 0
  const now = clock.now()
  const wanted = [...new Set(keys)].filter((key) => {
    const entry = l1.peek(key)
    return entry === undefined || now >= entry.freshUntil
  })
  for (let start = 0; start < wanted.length; start += WARM_CHUNK) {
    if (isClosed()) break
    const chunk = wanted.slice(start, start + WARM_CHUNK)
    const ticket = loads.beginMany(chunk)
    const raws = await store.getMany(chunk)
    const at = clock.now()
    for (let i = 0; i < chunk.length; i++) {
      const key = chunk[i]!
      const raw = raws[i]
      const entry = ctx.codec.decode(raw)
      // A key written or invalidated while the chunk was in flight keeps what it has now.
      if (entry === undefined || at >= entry.freshUntil || (l1.peek(key)?.freshUntil ?? 0) > at) continue
      if (loads.admitRead(key, ticket, entry, raw!.length * 2) !== undefined) warmed++
    }
  }
  return warmed
}
