// What getOrSet does past L1: one shared load per key (the tick's batched L2 read, then the
// factory, under the cross-process lock when enabled), and XFetch early refreshes in the
// background.

import type { Entry } from '../tiers/entry.js'
import type { L1Entry } from '../tiers/l1.js'
import type { RedisStore } from '../tiers/redis-store.js'
import type { Factory, GetOrSetOptions } from '../types.js'
import { runFactory } from './factory-runner.js'
import type { Load, LoadContext } from './load-context.js'
import { refreshIfFree, runLocked } from './lock.js'

/**
 * A getOrSet that missed L1, registered as the key's load so that concurrent callers join
 * it. The L2 hit is the common path under load: it joins the tick's batched read and costs
 * one callback; the rest is in `afterL2`. An expired L1 entry still in grace is the stale
 * fallback.
 */
export function load<T>(
  ctx: LoadContext,
  key: string,
  factory: Factory<T>,
  options: GetOrSetOptions | undefined,
): Promise<T> {
  const { hitTime, loads, store } = ctx
  const started = hitTime.now()
  const job: Load<T> = { key, factory, options, ticket: loads.begin(key) }
  const expired = ctx.l1.peek(key)
  let pending: Promise<T>
  if (store === undefined) {
    // Registered before the factory can run: a synchronous factory must not finish first.
    pending = Promise.resolve().then(() => afterL2(ctx, job, [expired, undefined], started))
  } else {
    const batch = store.read(key)
    const index = store.lastIndex
    pending = batch.then(
      (raws) => {
        const raw = raws[index]
        const entry = ctx.codec.decode(raw)
        if (entry !== undefined && hitTime.now() < entry.freshUntil) {
          ctx.signals.l2Hit(key)
          loads.admitRead(key, job.ticket, entry, raw!.length * 2)
          loads.finish(key)
          return entry.value as T
        }
        return afterL2(ctx, job, [expired, entry], started)
      },
      (error: unknown) => {
        // Redis is down or slow: the factory still runs, and a stale copy (if any) is
        // served at the soft deadline, counted from the start of this load.
        ctx.signals.storeError('get', error)
        return afterL2(ctx, job, [expired, undefined], started)
      },
    )
  }
  loads.register(key, pending)
  return pending
}

/** Past L2: the factory (under the lock when on), with the fresher of the two stale copies. */
async function afterL2<T>(
  ctx: LoadContext,
  job: Load<T>,
  [l1Entry, l2Entry]: [Entry | undefined, Entry | undefined],
  started: number,
): Promise<T> {
  const { key, options } = job
  try {
    const now = ctx.clock.now()
    let stale = l1Entry !== undefined && now < l1Entry.staleUntil ? l1Entry : undefined
    if (
      l2Entry !== undefined &&
      now < l2Entry.staleUntil &&
      (stale === undefined || l2Entry.freshUntil > stale.freshUntil)
    ) {
      stale = l2Entry
    }
    if ((options?.grace ?? ctx.defaults.grace) === 0) stale = undefined
    ctx.signals.missed(key)
    const softAt = started + (options?.timeout?.soft ?? ctx.defaults.timeout.soft)
    if (usesLock(ctx, options)) return await runLocked(ctx, job, stale, softAt)
    return await runFactory(ctx, job, stale, softAt)
  } finally {
    ctx.loads.finish(key)
  }
}

/**
 * Refreshes `entry` in the background (an XFetch pick or a prefetch), uncounted; false
 * when a load of its key already runs.
 */
export function refresh<T>(
  ctx: LoadContext,
  key: string,
  entry: L1Entry,
  refresher: { factory: Factory<T>; options: GetOrSetOptions | undefined },
): boolean {
  const { loads } = ctx
  if (loads.isLoading(key)) return false
  const job: Load<T> = { key, ...refresher, ticket: loads.begin(key) }
  // Straight to the factory: L2 holds the same entry, so reading it would only say "fresh".
  loads
    .share(key, () =>
      usesLock(ctx, job.options)
        ? refreshIfFree(ctx, job, entry)
        : runFactory(ctx, job, entry, Number.POSITIVE_INFINITY),
    )
    .catch((error: unknown) => ctx.logger.debug({ err: error, key }, 'cache early refresh failed'))
  return true
}

function usesLock(
  ctx: LoadContext,
  options: GetOrSetOptions | undefined,
): ctx is LoadContext & { store: RedisStore } {
  return ctx.store !== undefined && (options?.lock ?? ctx.defaults.lock.enabled)
}
