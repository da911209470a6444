import { ClosedError, childLogger, parseOptions, systemClock } from '@headroom/core'
import { createCacheSignals } from './cache-signals.js'
import { snapshotStats } from './cache-stats.js'
import { checkDeleteKeys, checkKeyList, checkSetOptions, checkTagList } from './call-options.js'
import { createCounters } from './counters.js'
import { assertKey, createCodec, type Entry } from './entry.js'
import { createEntryWriter } from './entry-writer.js'
import { createGetMany } from './get-many.js'
import { createInvalidationCommands } from './invalidation-commands.js'
import { createKeyGroups } from './key-groups.js'
import { createL1 } from './l1.js'
import { createL1Coherence } from './l1-coherence.js'
import { createToL1, type L1Entry } from './l1-entry.js'
import { createLoadRegistry } from './load-registry.js'
import { createLoader } from './loader.js'
import { startMemoryShedder } from './memory-shedder.js'
import { type CacheOptions, cacheOptionsSchema, defaultLock, type LockSettings } from './options.js'
import { type Prefetcher, startPrefetcher } from './prefetcher.js'
import { createRecovery, type Recovery } from './recovery.js'
import { createRedisStore, type RedisStore } from './redis-store.js'
import { createTickTime } from './tick-time.js'
import { createTimerSet } from './timer-set.js'
import { type GetOrSetTraceContext, getOrSetTrace, type MarkedGetOrSet, TRACED } from './trace.js'
import { createTtlPolicy } from './ttl.js'
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
/** Keys read per MGET by `warm`: large enough to amortise round trips, small enough for one command timeout. */
const WARM_CHUNK = 500

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
  const groups = createKeyGroups(parsed.keyGroups ?? Object.keys(parsed.tiers), parsed.maxKeyGroups)
  const toL1 = createToL1(l1, beta, groups)
  const closeController = new AbortController()

  // A hit bumps its entry's counters (hits of the key, of its group), the rest a shared
  // counters object.
  const counters = createCounters(groups)
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
  let prefetcher: Prefetcher | undefined
  const { load, earlyRefresh, refresh } = createLoader({
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
    ...(parsed.prefetch
      ? { onLoad: (key, factory, options) => prefetcher?.remember(key, factory, options) }
      : {}),
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

  const isClosed = () => closed
  if (parsed.memoryPressure) {
    startMemoryShedder(parsed.memoryPressure, { l1, timers, logger, isClosed })
  }
  if (parsed.prefetch) {
    const { aheadMs, ...settings } = parsed.prefetch
    prefetcher = startPrefetcher(
      { ...settings, aheadMs: aheadMs ?? 3 * settings.intervalMs, maxCandidates: settings.maxCandidates },
      { clock, l1, counters, timers, logger, isClosed, refresh },
    )
  }

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
          counters.groups.of(key).l2Hits++
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

  /**
   * Fills L1 from L2 without counting hits: the keys fresh in L1 are skipped, the rest read
   * in chunks (one MGET per chunk, per hash slot on a Cluster). Returns how many landed.
   */
  async function warmFromL2(keys: readonly string[], s: RedisStore): Promise<number> {
    let warmed = 0
    const now = clock.now()
    const wanted = [...new Set(keys)].filter((key) => {
      const entry = l1.peek(key)
      return entry === undefined || now >= entry.e
    })
    for (let start = 0; start < wanted.length; start += WARM_CHUNK) {
      if (closed) break
      const chunk = wanted.slice(start, start + WARM_CHUNK)
      const startGeneration = invalidations.generation
      for (const key of chunk) invalidatedDuringLoad.delete(key)
      const raws = await s.getMany(chunk)
      const at = clock.now()
      for (let i = 0; i < chunk.length; i++) {
        const raw = raws[i]
        const entry = decode(raw)
        // A key written or invalidated while the chunk was in flight keeps what it has now.
        if (entry === undefined || at >= entry.e || (l1.peek(chunk[i]!)?.e ?? 0) > at) continue
        if (stillValid(chunk[i]!, startGeneration, entry)) {
          toL1(chunk[i]!, entry, raw!.length * 2)
          warmed++
        }
      }
    }
    return warmed
  }

  /** A `get` that neither tier answered: it runs no factory, so only the read counters see it. */
  function readMissed(key: string): undefined {
    counters.readMisses++
    counters.groups.of(key).misses++
    return undefined
  }

  function refuse(error: unknown): Promise<never> {
    return Promise.reject(error)
  }

  // The span point: traced, the context notes which tier answered (see trace.ts).
  const tracedGetOrSet = <T>(key: string, factory: Factory<T>, options?: GetOrSetOptions) => {
    const context: GetOrSetTraceContext = { cache: parsed.prefix, key, tier: 'l2' }
    return getOrSetTrace.tracePromise(() => {
      // An L1 hit counts on its entry (`h`), so the entry's count before and after tells.
      const cached = l1.get(key) as L1Entry | undefined
      const hits = cached?.h
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
      if (cached !== undefined && cached.h !== hits) context.tier = 'l1'
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
          entry.g.l1Hits++
          entry.h++
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
      const entry = l1.get(key) as L1Entry | undefined
      const now = hitTime.now()
      if (entry !== undefined && now < entry.e) {
        entry.g.l1Hits++
        entry.h++
        return entry.v as T
      }
      if (!store) return readMissed(key)
      try {
        const found = await readL2(key, store)
        return found !== undefined && clock.now() < found.e ? (found.v as T) : readMissed(key)
      } catch (error) {
        storeError('get', error)
        readMissed(key)
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

    async warm(source: WarmSource, ...extra: unknown[]): Promise<number> {
      if (closed) throw new ClosedError('The cache is closed')
      const keys = typeof source === 'function' ? [...(await source())] : source
      checkKeyList('warm', keys, extra.length)
      for (const key of keys) assertKey(key)
      if (!store) return 0
      return warmFromL2(keys, store)
    },

    hotKeys(): string[] {
      return prefetcher?.hottest() ?? []
    },

    stats(): CacheStats {
      return snapshotStats(l1, counters, store, inflight.size, recovery?.pending ?? 0)
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
