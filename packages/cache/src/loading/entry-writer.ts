// The one write path of both tiers, shared by `set` and by loads that computed a value:
// a load overtaken by an invalidation writes nothing (the load registry decides), an
// explicit `set` always writes.

import type { RecoveryOp } from '../invalidation/recovery.js'
import type { Entry } from '../tiers/entry.js'
import type { SetOptions } from '../types.js'
import type { LoadContext } from './load-context.js'
import type { LoadTicket } from './load-registry.js'

/** How a value is written. */
export interface WriteHow {
  options: SetOptions | undefined
  /** How long the factory took, in ms (0 for an explicit `set`). */
  factoryMs: number
  /** The ticket of the load that computed it; `undefined` for an explicit `set`, which always writes. */
  ticket: LoadTicket | undefined
}

/**
 * Validates and stores a value in both tiers; throws input errors before changing anything.
 * Resolves with the value as the tiers hold it (what the serializer gives back).
 */
export async function writeEntry(
  ctx: LoadContext,
  key: string,
  value: unknown,
  how: WriteHow,
): Promise<unknown> {
  const { clock, loads, store, signals, recovery } = ctx
  const { options, ticket } = how
  const ttl = ctx.ttl.ttlFor(key, options?.ttl)
  const grace = options?.grace ?? ctx.defaults.grace
  const now = clock.now()
  const tags = options?.tags
  const entry: Entry = {
    value,
    freshUntil: now + ttl,
    staleUntil: now + ttl + grace,
    factoryMs: how.factoryMs,
    writtenAt: now,
    tags: tags !== undefined && tags.length > 0 ? tags : undefined,
    writeId: (Math.random() * 0x7fffffff) | 0,
  }
  const payload = ctx.codec.encode(entry, key)
  const stored = entry.value
  const explicit = ticket === undefined
  if (explicit) loads.storeExplicit(key, entry, payload.length * 2)
  else if (!loads.admitComputed(key, ticket, entry, payload.length * 2)) return stored
  if (!store) return stored
  const pxMs = ttl + grace
  // Only explicit writes are recovered: a factory's result is recomputed by the next miss.
  let written: boolean
  try {
    written = await store.set(key, { payload, pxMs, tags: entry.tags, writtenAt: now })
  } catch (error) {
    signals.storeError('set', error)
    if (explicit) recovery?.failed(setOperation(key, entry, payload, pxMs), error)
    return stored
  }
  if (!written) {
    // L2 holds an entry written later (by another instance): ours must not linger in L1.
    loads.invalidateKey(key)
    return stored
  }
  const message = { keys: [key], written: entry.writeId }
  if (!explicit) {
    await ctx.coherence.publish(message)
    return stored
  }
  try {
    await ctx.coherence.send(message)
  } catch (error) {
    signals.storeError('publish', error)
    const op = setOperation(key, entry, payload, pxMs)
    op.stored = 'applied'
    recovery?.failed(op, error)
  }
  return stored
}

function setOperation(
  key: string,
  entry: Entry,
  payload: string,
  pxMs: number,
): Extract<RecoveryOp, { operation: 'set' }> {
  return {
    operation: 'set',
    key,
    at: entry.writtenAt ?? 0,
    payload,
    pxMs,
    tags: entry.tags,
    staleUntil: entry.staleUntil,
    written: entry.writeId,
  }
}
