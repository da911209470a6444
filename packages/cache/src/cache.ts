import { ClosedError, childLogger, parseOptions, systemClock } from '@headroom/core'
import { createCacheSignals } from './cache-signals.js'
import { snapshotStats } from './cache-stats.js'
import { checkDeleteKeys, checkKeyList, checkSetOptions, checkTagList } from './call-options.js'
import { createCounters } from './counters.js'
import { assertKey, createCodec, type Entry } from './entry.js'
import { createEntryWriter } from './entry-writer.js'
import { createGetMany } from './get-many.js'
import { createInvalidationCommands } from './invalidation-commands.js'
import { createL1 } from './l1.js'
import { createL1Coherence } from './l1-coherence.js'
import { createToL1, type L1Entry } from './l1-entry.js'
import { createLoadRegistry } from './load-registry.js'
import { createLoader } from './loader.js'
import { type CacheOptions, cacheOptionsSchema, defaultLock, type LockSettings } from './options.js'
import { createRecovery, type Recovery } from './recovery.js'
import { createRedisStore, type RedisStore } from './redis-store.js'
import { createTickTime } from './tick-time.js'
import { createTimerSet } from './timer-set.js'
import { type GetOrSetTraceContext, getOrSetTrace, type MarkedGetOrSet, TRACED } from './trace.js'
import { createTtlPolicy } from './ttl.js'
import type { Cache, CacheStats, Factory, GetOrSetOptions, SetOptions } from './types.js'

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
  const clock = parsed.clock ?? systemClock
  const hitTime = createTickTime(clock)
  const logger = childLogger(parsed.logger, { component: 'headroom-cache', prefix: parsed.prefix })
  const lockDefaults: LockSettings | undefined =
    parsed.lock === false ? undefined : parsed.lock === true ? defaultLock : parsed.lock
  const beta = parsed.earlyRefresh
  const codec = createCodec(parsed.serializer)
  const decode = codec.decode
  const l1 = createL1(parsed.l1.max, parsed.l1.maxSize)
  const toL1 = createToL1(l1, beta)
  const closeController = new AbortController()

  // The hit path bumps a closure variable, the rest a shared counters object.
  let l1Hits = 0
  const counters = createCounters()
  const timers = createTimerSet(clock)
  let closed = false

  const signals = createCacheSignals(logger, counters)
  const { events, storeError, served } = signals
  const registry = createLoadRegistry(l1)
  const { inflight, reads, invalidatedDuringLoad, invalidations, stillValid } = registry

  const store: RedisStore | undefined = parsed.redis
    ? createRedisStore({
        client: parsed.redis,
        prefix: parsed.prefix,
        commandTimeout: parsed.commandTimeout,
        clock,
        onGateChange: signals.onGateChange,
      })
    : undefined
  const coherence = createL1Coherence({
    redis: parsed.redis,
    bus: parsed.bus,
    prefix: parsed.prefix,
    commandTimeout: parsed.commandTimeout,
    clock,
    logger,
    counters,
    l1,
    registry,
    signals,
  })
  const recovery: Recovery | undefined = store
    ? createRecovery({
        settings: parsed.recovery,
        store,
        send: coherence.send,
        forget(target) {
          if ('key' in target) return registry.markKey(target.key)
          invalidations.invalidateTags([target.tag])
          l1.deleteTagged(new Set([target.tag]))
        },
        now: () => clock.now(),
        // A replayed operation: its Redis commands (one command timeout) and its bus
        // message (the bus timeout), with as much again for a loaded event loop.
        operationDeadlineMs: 2 * (parsed.commandTimeout + Math.max(parsed.commandTimeout, 250)),
        timers,
        logger,
        counters,
        signals,
      })
    : undefined
  const write = createEntryWriter({
    clock,
    ttlPolicy: createTtlPolicy(parsed.ttl, parsed.tiers, parsed.jitter),
    grace: parsed.grace,
    encode: codec.encode,
    store,
    registry,
    toL1,
    storeError,
    publish: coherence.publish,
    send: coherence.send,
    recovery,
  })
  const { load, earlyRefresh } = createLoader({
    clock,
    hitTime,
    logger,
    counters,
    timers,
    closeSignal: closeController.signal,
    grace: parsed.grace,
    timeout: parsed.timeout,
    lockDefaults,
    store,
    registry,
    toL1,
    write,
    decode,
    signals,
  })
  const many = createGetMany({ clock, hitTime, counters, l1, store, registry, toL1, decode, signals })
  const invalidation = createInvalidationCommands({
    l1,
    store,
    registry,
    signals,
    send: coherence.send,
    recovery,
    now: () => clock.now(),
  })

  /** Reads L2 once per key at a time; a fresh entry lands in L1. Throws when Redis fails. */
  function readL2(key: string, s: RedisStore): Promise<Entry | undefined> {
    let pending = reads.get(key)
    if (pending) return pending
    const startGeneration = invalidations.generation
    invalidatedDuringLoad.delete(key)
    const batch = s.read(key)
    const index = s.lastIndex
    pending = batch.then(
      (raws) => {
        reads.delete(key)
        const raw = raws[index]
        const entry = decode(raw)
        if (entry !== undefined && clock.now() < entry.e) {
          counters.l2Hits++
          if (stillValid(key, startGeneration, entry)) toL1(key, entry, raw!.length * 2)
        }
        return entry
      },
      (error: unknown) => {
        reads.delete(key)
        throw error
      },
    )
    reads.set(key, pending)
    return pending
  }

  function refuse(error: unknown): Promise<never> {
    return Promise.reject(error)
  }

  // The span point: traced, the context notes which tier answered (see trace.ts).
  const tracedGetOrSet = <T>(key: string, factory: Factory<T>, options?: GetOrSetOptions) => {
    const context: GetOrSetTraceContext = { cache: parsed.prefix, key, tier: 'l2' }
    return getOrSetTrace.tracePromise(() => {
      const hits = l1Hits
      const coalesced = counters.coalesced
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
      if (l1Hits !== hits) context.tier = 'l1'
      else if (counters.coalesced !== coalesced) context.tier = 'coalesced'
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
      const entry = l1.get(key) as L1Entry | undefined
      // A typeof on the hit path, so `getOrSet(key, fn, 3600)` fails on every call; the
      // keys of an options object are checked below, on the miss path.
      if (entry !== undefined && (options === undefined || typeof options === 'object')) {
        const now = hitTime.now()
        if (now < entry.e) {
          l1Hits++
          if (now >= entry.r && now - entry.d * beta * Math.log(Math.random()) >= entry.e) {
            earlyRefresh(key, entry, factory, options)
          }
          return Promise.resolve(entry.v as T)
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
      const pending = inflight.get(key)
      if (pending !== undefined) {
        counters.coalesced++
        return pending as Promise<T>
      }
      return load(key, factory, options, entry)
    },

    peek<T>(key: string): T | undefined {
      const entry = l1.peek(key)
      return entry !== undefined && clock.now() < entry.e ? (entry.v as T) : undefined
    },

    async get<T>(key: string): Promise<T | undefined> {
      assertKey(key)
      const entry = l1.get(key)
      const now = hitTime.now()
      if (entry !== undefined && now < entry.e) {
        l1Hits++
        return entry.v as T
      }
      if (!store) return undefined
      try {
        const found = await readL2(key, store)
        return found !== undefined && clock.now() < found.e ? (found.v as T) : undefined
      } catch (error) {
        storeError('get', error)
        if (entry !== undefined && now < entry.s) {
          served(key, 'store-unavailable')
          return entry.v as T
        }
        return undefined
      }
    },

    async set<T>(key: string, value: T, options?: SetOptions): Promise<void> {
      if (closed) throw new ClosedError('The cache is closed')
      assertKey(key)
      checkSetOptions('set', options)
      await write(key, value, options, 0, undefined)
    },

    getMany<T>(keys: readonly string[], ...extra: unknown[]): Promise<(T | undefined)[]> {
      try {
        checkKeyList('getMany', keys, extra.length)
      } catch (error) {
        return refuse(error)
      }
      return many.getMany<T>(keys)
    },
    delete(keys: string | readonly string[], ...extra: unknown[]): Promise<void> {
      try {
        checkDeleteKeys(keys, extra.length)
      } catch (error) {
        return refuse(error)
      }
      return invalidation.delete(keys)
    },
    invalidateTags(tags: readonly string[], ...extra: unknown[]): Promise<void> {
      try {
        checkTagList(tags, extra.length)
      } catch (error) {
        return refuse(error)
      }
      return invalidation.invalidateTags(tags)
    },
    invalidateEntity: invalidation.invalidateEntity,

    shrink(fraction: number): number {
      if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) {
        throw new TypeError(`shrink(fraction) needs a number from 0 to 1 (received ${String(fraction)})`)
      }
      return l1.shrink(fraction)
    },

    stats(): CacheStats {
      return snapshotStats(l1Hits + many.l1Hits, l1, counters, store, inflight.size, recovery?.pending ?? 0)
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
