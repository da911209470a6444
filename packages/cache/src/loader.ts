// What getOrSet does past L1: one shared load per key (the tick's batched L2 read, then the
// factory, under the cross-process lock when enabled), and XFetch early refreshes in the
// background.

import type { Clock, Logger } from '@headroom/core'
import type { CacheSignals } from './cache-signals.js'
import type { Counters } from './counters.js'
import type { Codec, Entry } from './entry.js'
import type { WriteEntry } from './entry-writer.js'
import { runFactory } from './factory-runner.js'
import type { L1Entry, ToL1 } from './l1-entry.js'
import type { LoadContext } from './load-context.js'
import type { LoadRegistry } from './load-registry.js'
import { refreshIfFree, runLocked } from './lock.js'
import { defaultLock, type LockSettings } from './options.js'
import type { RedisStore } from './redis-store.js'
import type { TickTime } from './tick-time.js'
import type { TimerSet } from './timer-set.js'
import type { Factory, GetOrSetOptions } from './types.js'

export interface LoaderOptions {
  clock: Clock
  /** The hit path's time source. */
  hitTime: TickTime
  logger: Logger
  counters: Counters
  timers: TimerSet
  /** Aborted by `close()`. */
  closeSignal: AbortSignal
  /** The default grace, in ms. */
  grace: number
  /** The default factory timeouts, in ms. */
  timeout: { soft: number; hard: number }
  /** The `lock` option after defaults; `undefined` when off. */
  lockDefaults: LockSettings | undefined
  store: RedisStore | undefined
  registry: LoadRegistry
  toL1: ToL1
  write: WriteEntry
  decode: Codec['decode']
  signals: Pick<CacheSignals, 'served' | 'missed' | 'factoryFailed' | 'storeError'>
  /** Told of each load's factory (the prefetcher keeps the hot keys' ones). */
  onLoad?: (key: string, factory: Factory<unknown>, options: GetOrSetOptions | undefined) => void
}

export interface Loader {
  /**
   * A getOrSet that missed L1. The L2 hit is the common path under load: it joins the
   * tick's batched read and costs one callback; the rest is in `afterL2`.
   */
  load<T>(
    key: string,
    factory: Factory<T>,
    options: GetOrSetOptions | undefined,
    l1Entry: Entry | undefined,
  ): Promise<T>
  /** Refreshes an entry XFetch picked, in the background, unless a load of its key runs. */
  earlyRefresh<T>(key: string, entry: L1Entry, factory: Factory<T>, options?: GetOrSetOptions): void
  /** The refresh itself, uncounted; false when a load of the key already runs. */
  refresh<T>(key: string, entry: L1Entry, factory: Factory<T>, options?: GetOrSetOptions): boolean
}

export function createLoader(deps: LoaderOptions): Loader {
  const { clock, hitTime, logger, counters, grace, lockDefaults, store, toL1, write, decode } = deps
  const softDefault = deps.timeout.soft
  const { inflight, invalidatedDuringLoad, invalidations, stillValid, finish, share } = deps.registry
  const { served, missed, factoryFailed, storeError } = deps.signals

  const ctx: LoadContext = {
    clock,
    logger,
    counters,
    timers: deps.timers,
    hardTimeout: deps.timeout.hard,
    closeSignal: deps.closeSignal,
    served,
    factoryFailed,
    storeError,
    write,
    decode,
    adopt(key, entry, raw, startGeneration) {
      if (stillValid(key, startGeneration, entry)) toL1(key, entry, raw.length * 2)
    },
  }

  function load<T>(
    key: string,
    factory: Factory<T>,
    options: GetOrSetOptions | undefined,
    l1Entry: Entry | undefined,
  ): Promise<T> {
    const started = hitTime.now()
    const startGeneration = invalidations.generation
    invalidatedDuringLoad.delete(key)
    deps.onLoad?.(key, factory as Factory<unknown>, options)
    const s = store
    let pending: Promise<T>
    if (s === undefined) {
      // Registered before the factory can run: a synchronous factory must not finish first.
      pending = Promise.resolve().then(() =>
        afterL2(key, factory, options, l1Entry, undefined, started, startGeneration),
      )
    } else {
      const batch = s.read(key)
      const index = s.lastIndex
      pending = batch.then(
        (raws) => {
          const raw = raws[index]
          const entry = decode(raw)
          if (entry !== undefined && hitTime.now() < entry.e) {
            counters.l2Hits++
            counters.groups.of(key).l2Hits++
            if (stillValid(key, startGeneration, entry)) toL1(key, entry, raw!.length * 2)
            finish(key)
            return entry.v as T
          }
          return afterL2(key, factory, options, l1Entry, entry, started, startGeneration)
        },
        (error: unknown) => {
          // Redis is down or slow: the factory still runs, and a stale copy (if any) is
          // served at the soft deadline, counted from the start of this load.
          storeError('get', error)
          return afterL2(key, factory, options, l1Entry, undefined, started, startGeneration)
        },
      )
    }
    inflight.set(key, pending)
    return pending
  }

  async function afterL2<T>(
    key: string,
    factory: Factory<T>,
    options: GetOrSetOptions | undefined,
    l1Entry: Entry | undefined,
    l2Entry: Entry | undefined,
    started: number,
    startGeneration: number,
  ): Promise<T> {
    try {
      const now = clock.now()
      let stale = l1Entry !== undefined && now < l1Entry.s ? l1Entry : undefined
      if (l2Entry !== undefined && now < l2Entry.s && (stale === undefined || l2Entry.e > stale.e)) {
        stale = l2Entry
      }
      if ((options?.grace ?? grace) === 0) stale = undefined
      missed(key)
      const softAt = started + (options?.timeout?.soft ?? softDefault)
      const useLock = store !== undefined && (options?.lock ?? lockDefaults !== undefined)
      if (useLock) {
        const lock = lockDefaults ?? defaultLock
        return await runLocked(ctx, store, lock, key, factory, options, stale, softAt, startGeneration)
      }
      return await runFactory(ctx, key, factory, options, stale, softAt, startGeneration)
    } finally {
      finish(key)
    }
  }

  function earlyRefresh<T>(
    key: string,
    entry: L1Entry,
    factory: Factory<T>,
    options?: GetOrSetOptions,
  ): void {
    if (refresh(key, entry, factory, options)) counters.earlyRefreshes++
  }

  function refresh<T>(key: string, entry: L1Entry, factory: Factory<T>, options?: GetOrSetOptions): boolean {
    if (inflight.has(key)) return false
    const startGeneration = invalidations.generation
    invalidatedDuringLoad.delete(key)
    // Straight to the factory: L2 holds the same entry, so reading it would only say "fresh".
    const useLock = store !== undefined && (options?.lock ?? lockDefaults !== undefined)
    share(key, () =>
      useLock
        ? refreshIfFree(
            ctx,
            store,
            lockDefaults ?? defaultLock,
            key,
            factory,
            options,
            entry,
            startGeneration,
          )
        : runFactory(ctx, key, factory, options, entry, Number.POSITIVE_INFINITY, startGeneration),
    ).catch((error: unknown) => logger.debug({ err: error, key }, 'cache early refresh failed'))
    return true
  }

  return { load, earlyRefresh, refresh }
}
