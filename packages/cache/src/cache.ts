import { ClosedError, childLogger, parseOptions } from '@headroom/core'
import { type Prefetcher, startPrefetcher } from './background/prefetcher.js'
import { deleteKeys, invalidateEntity, invalidateTags } from './invalidation/invalidation-commands.js'
import { createL1Coherence } from './invalidation/l1-coherence.js'
import { createRecovery, type Recovery } from './invalidation/recovery.js'
import { writeEntry } from './loading/entry-writer.js'
import type { LoadContext } from './loading/load-context.js'
import { LoadRegistry } from './loading/load-registry.js'
import { load, refresh } from './loading/loader.js'
import { readL2, readMany, warmFromL2 } from './loading/reads.js'
import { createTtlPolicy } from './loading/ttl.js'
import { CacheSignals } from './metrics/cache-signals.js'
import { createKeyGroups } from './metrics/key-groups.js'
import { type GetOrSetTraceContext, getOrSetTrace, type MarkedGetOrSet, TRACED } from './metrics/trace.js'
import {
  assertKey,
  checkDeleteKeys,
  checkKeyList,
  checkSetOptions,
  checkTagList,
  hasKnownGetOrSetKeys,
} from './options/call-options.js'
import { type CacheOptions, cacheOptionsSchema } from './options/options.js'
import { createCodec } from './tiers/entry.js'
import { createL1, type L1Entry } from './tiers/l1.js'
import { createRedisStore, type RedisStore } from './tiers/redis-store.js'
import { createTickTime } from './time/tick-time.js'
import { createTimerSet } from './time/timer-set.js'
import type { Cache, CacheStats, Factory, GetOrSetOptions, SetOptions, WarmSource } from './types.js'

/**
 * Creates a tiered cache (L1 lru-cache, optional L2 Redis).
 *
 * @example
 * import { Redis } from 'ioredis'
 * import { createCache } from '@headroom/cache'
 *
 * const cache = createCache({ redis: new Redis(), prefix: 'app', ttl: 60_000, grace: 600_000, lock: true })
 * const user = await cache.getOrSet(`user:${id}`, () => db.users.find(id), { tags: ['users'] })
 * await cache.invalidateTags(['users'])
 */
export function createCache(input: CacheOptions): Cache {
  const parsed = parseOptions('createCache', cacheOptionsSchema, input)
  const { clock } = parsed
  const hitTime = createTickTime(clock)
  const logger = childLogger(parsed.logger, { component: 'headroom-cache', prefix: parsed.prefix })
  const beta = parsed.earlyRefresh
  const groups = createKeyGroups(parsed.keyGroups, parsed.maxKeyGroups)
  const l1 = createL1({ max: parsed.l1.max, maxSize: parsed.l1.maxSize, earlyRefresh: beta, groups })
  const closeController = new AbortController()
  const timers = createTimerSet(clock)
  let closed = false
  const isClosed = () => closed

  const signals = new CacheSignals(logger, groups)
  const { events } = signals
  const loads = new LoadRegistry(l1)

  const store: RedisStore | undefined = parsed.redis
    ? createRedisStore({
        client: parsed.redis,
        prefix: parsed.prefix,
        commandTimeout: parsed.commandTimeout,
        clock,
        onGateChange: (state, previous) => signals.gateChanged(state, previous),
      })
    : undefined
  const coherence = createL1Coherence({
    redis: parsed.redis,
    bus: parsed.bus,
    prefix: parsed.prefix,
    commandTimeout: parsed.commandTimeout,
    clock,
    logger,
    signals,
    l1,
    loads,
  })
  const recovery: Recovery | undefined = store
    ? createRecovery({
        settings: parsed.recovery,
        store,
        send: coherence.send,
        loads,
        now: () => clock.now(),
        // A replayed operation: its Redis commands (one command timeout) and its bus
        // message (the bus timeout), with as much again for a loaded event loop.
        operationDeadlineMs: 2 * (parsed.commandTimeout + Math.max(parsed.commandTimeout, 250)),
        timers,
        logger,
        signals,
      })
    : undefined
  const ctx: LoadContext = {
    clock,
    hitTime,
    logger,
    timers,
    closeSignal: closeController.signal,
    signals,
    loads,
    l1,
    store,
    codec: createCodec(parsed.serializer),
    ttl: createTtlPolicy(parsed.ttl, parsed.tiers, parsed.jitter),
    coherence,
    recovery,
    defaults: { grace: parsed.grace, timeout: parsed.timeout, lock: parsed.lock },
  }

  // Sheds L1 on its own while memory is short: a bounded number of entries a tick, so a
  // large L1 is trimmed over several ticks instead of in one long pause.
  const pressure = parsed.memoryPressure
  if (pressure) {
    const shedTick = () => {
      if (closed) return
      let reading: number
      try {
        reading = pressure.signal()
      } catch (error) {
        logger.debug({ err: error }, 'cache memory-pressure signal threw; nothing shed this tick')
        reading = 0
      }
      if (reading >= pressure.threshold && l1.size > 0) {
        const removed = l1.shed(Math.min(pressure.maxPerTick, Math.ceil(l1.size * pressure.fraction)))
        logger.debug({ pressure: reading, removed, left: l1.size }, 'cache shed L1 on memory pressure')
      }
      // The timer set's clock unrefs its timers: this one never keeps the process alive.
      timers.start(shedTick, pressure.intervalMs)
    }
    timers.start(shedTick, pressure.intervalMs)
  }
  const prefetcher: Prefetcher | undefined = parsed.prefetch
    ? startPrefetcher(parsed.prefetch, {
        clock,
        l1,
        signals,
        timers,
        logger,
        isClosed,
        refresh: (key, entry, factory, options) => refresh(ctx, key, entry, { factory, options }),
      })
    : undefined

  /** A `get` that neither tier answered: it runs no factory, so only the read counters see it. */
  function readMissed(key: string): undefined {
    signals.readMissed(key)
    return undefined
  }

  /** Refreshes an entry XFetch picked, in the background, unless a load of its key runs. */
  function earlyRefresh<T>(
    key: string,
    entry: L1Entry,
    factory: Factory<T>,
    options?: GetOrSetOptions,
  ): void {
    if (refresh(ctx, key, entry, { factory, options })) signals.earlyRefreshStarted()
  }

  function refuse(error: unknown): Promise<never> {
    return Promise.reject(error)
  }

  // The span point: traced, the context notes which tier answered (see trace.ts).
  const tracedGetOrSet = <T>(key: string, factory: Factory<T>, options?: GetOrSetOptions) => {
    const context: GetOrSetTraceContext = { cache: parsed.prefix, key, tier: 'l2' }
    return getOrSetTrace.tracePromise(() => {
      // An L1 hit counts on its entry (`hits`), so the entry's count before and after tells.
      const cached = l1.get(key)
      const hits = cached?.hits
      const coalesced = signals.coalescedCount
      // Only this call's own load marks it a miss (not an early refresh after an L1 hit);
      // a non-function is passed on as it is, for getOrSet's own error.
      const traced: Factory<T> =
        typeof factory === 'function'
          ? (factoryContext) => {
              if (context.tier === 'l2') context.tier = 'miss'
              return factory(factoryContext)
            }
          : factory
      const result = (cache.getOrSet as MarkedGetOrSet)<T>(key, traced, options, TRACED)
      if (cached !== undefined && cached.hits !== hits) context.tier = 'l1'
      else if (signals.coalescedCount !== coalesced) context.tier = 'coalesced'
      return result
    }, context)
  }

  const cache: Cache = {
    on: events.on,
    ready: coherence.ready,

    // `tracing` is TRACED only when tracedGetOrSet calls back in (never from a caller: the
    // symbol is not exported), so a traced call passes the check once.
    getOrSet<T>(
      key: string,
      factory: Factory<T>,
      options?: GetOrSetOptions,
      tracing?: typeof TRACED,
    ): Promise<T> {
      if (getOrSetTrace.hasSubscribers && tracing !== TRACED) return tracedGetOrSet(key, factory, options)
      const entry = l1.get(key)
      // Options are checked on the hit path too (a typeof and a short key loop), so
      // `getOrSet(key, fn, 3600)` or a misspelt key fails on every call; their values are
      // checked below, on the miss path, which also names what is wrong.
      if (
        entry !== undefined &&
        (options === undefined || (typeof options === 'object' && hasKnownGetOrSetKeys(options)))
      ) {
        const now = hitTime.now()
        if (now < entry.freshUntil) {
          entry.countHit()
          if (
            now >= entry.refreshFrom &&
            now - entry.factoryMs * beta * Math.log(Math.random()) >= entry.freshUntil
          ) {
            earlyRefresh(key, entry, factory, options)
          }
          return Promise.resolve(entry.value as T)
        }
      }
      // Everything below is the miss path: validation is cheap next to a round trip.
      try {
        if (closed) throw new ClosedError('The cache is closed')
        assertKey(key)
        if (typeof factory !== 'function') throw new TypeError('getOrSet needs a factory function')
        checkSetOptions('getOrSet', options)
      } catch (error) {
        return refuse(error)
      }
      const pending = loads.loadOf(key)
      if (pending !== undefined) {
        signals.coalesced()
        return pending as Promise<T>
      }
      prefetcher?.remember(key, factory as Factory<unknown>, options)
      return load(ctx, key, factory, options)
    },

    peek<T>(key: string): T | undefined {
      const entry = l1.peek(key)
      return entry !== undefined && clock.now() < entry.freshUntil ? (entry.value as T) : undefined
    },

    async get<T>(key: string): Promise<T | undefined> {
      assertKey(key)
      const entry = l1.get(key)
      const now = hitTime.now()
      if (entry !== undefined && now < entry.freshUntil) {
        entry.countHit()
        return entry.value as T
      }
      if (!store) return readMissed(key)
      try {
        const found = await readL2(ctx, store, key)
        return found !== undefined && clock.now() < found.freshUntil ? (found.value as T) : readMissed(key)
      } catch (error) {
        signals.storeError('get', error)
        signals.readMissed(key)
        if (entry !== undefined && now < entry.staleUntil) {
          signals.served(key, 'store-unavailable')
          return entry.value as T
        }
        return undefined
      }
    },

    async set<T>(key: string, value: T, options?: SetOptions): Promise<void> {
      if (closed) throw new ClosedError('The cache is closed')
      assertKey(key)
      checkSetOptions('set', options)
      await writeEntry(ctx, key, value, { options, factoryMs: 0, ticket: undefined })
    },

    getMany<T>(keys: readonly string[], ...extra: unknown[]): Promise<(T | undefined)[]> {
      try {
        checkKeyList('getMany', keys, extra.length)
      } catch (error) {
        return refuse(error)
      }
      return readMany<T>(ctx, keys)
    },
    delete(keys: string | readonly string[], ...extra: unknown[]): Promise<void> {
      try {
        checkDeleteKeys(keys, extra.length)
      } catch (error) {
        return refuse(error)
      }
      return deleteKeys(ctx, keys)
    },
    invalidateTags(tags: readonly string[], ...extra: unknown[]): Promise<void> {
      try {
        checkTagList(tags, extra.length)
      } catch (error) {
        return refuse(error)
      }
      return invalidateTags(ctx, tags)
    },
    invalidateEntity: (type: string, id: string | number) => invalidateEntity(ctx, type, id),

    shrink(fraction: number): number {
      if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) {
        throw new TypeError(`shrink(fraction) needs a number from 0 to 1 (received ${String(fraction)})`)
      }
      return l1.shrink(fraction)
    },

    async warm(source: WarmSource, ...extra: unknown[]): Promise<number> {
      if (closed) throw new ClosedError('The cache is closed')
      const keys = typeof source === 'function' ? [...(await source())] : source
      checkKeyList('warm', keys, extra.length)
      for (const key of keys) assertKey(key)
      if (!store) return 0
      return warmFromL2(ctx, store, keys, isClosed)
    },

    hotKeys(): string[] {
      return prefetcher?.hottest() ?? []
    },

    stats(): CacheStats {
      return signals.stats({ l1, store, inflight: loads.loading, recoveryPending: recovery?.pending ?? 0 })
    },

    async close(): Promise<void> {
      if (closed) return
      closed = true
      closeController.abort(new ClosedError('The cache is closed'))
      recovery?.close()
      timers.clear()
      store?.close()
      hitTime.close()
      await coherence.close()
      events.clear()
    },
  }

  return cache
}
