import { randomBytes } from 'node:crypto'
import {
  ClosedError,
  childLogger,
  createChannels,
  createCommandTimeout,
  createEmitter,
  type FailureGateState,
  parseOptions,
  systemClock,
} from '@headroom/core'
import { type Bus, type BusMessage, createBus } from './bus.js'
import { createCounters } from './counters.js'
import { entityTag } from './entity.js'
import { assertKey, assertTags, assertTtl, decodeEntry, type Entry, encodeEntry } from './entry.js'
import { runFactory } from './factory-runner.js'
import { InvalidationClock } from './invalidation-clock.js'
import { createL1 } from './l1.js'
import type { LoadContext } from './load-context.js'
import { refreshIfFree, runLocked } from './lock.js'
import { type CacheOptions, cacheOptionsSchema, defaultLock, type LockSettings } from './options.js'
import { createRedisStore, type RedisStore } from './redis-store.js'
import { createTickTime } from './tick-time.js'
import { createTimerSet } from './timer-set.js'
import { createTtlPolicy } from './ttl.js'
import type {
  Cache,
  CacheEvents,
  CacheStats,
  Factory,
  GetOrSetOptions,
  SetOptions,
  StaleReason,
} from './types.js'

/**
 * What L1 holds: one class, so every entry has the same hidden class and the hit path's
 * property reads stay monomorphic (entries parsed from L2 and built by `set` differ).
 */
class L1Entry implements Entry {
  constructor(
    public v: unknown,
    public e: number,
    public s: number,
    public d: number,
    public w: number | undefined,
    public t: string[] | undefined,
    /** Before this time XFetch cannot fire: lets the hit path skip the random draw. */
    public r: number,
  ) {}
}

const channelEvents = ['miss', 'stale', 'factory-error', 'store-error', 'invalidated'] as const
const channels = createChannels<Pick<CacheEvents, (typeof channelEvents)[number]>>('cache', channelEvents)

/** -ln(p) beyond which an XFetch draw is negligible (p = 4.5e-5). */
const XFETCH_HORIZON = 10

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
  const grace = parsed.grace
  const softDefault = parsed.timeout.soft
  const hardDefault = parsed.timeout.hard
  const beta = parsed.earlyRefresh
  const ttlPolicy = createTtlPolicy(parsed.ttl, parsed.tiers, parsed.jitter)
  const l1 = createL1(parsed.l1.max, parsed.l1.maxSize)
  const events = createEmitter<CacheEvents>((error, event) =>
    logger.error({ err: error, event }, 'cache event listener threw'),
  )
  const instanceId = randomBytes(8).toString('hex')
  const closeController = new AbortController()

  // The hit path bumps a closure variable, the rest a shared counters object.
  let l1Hits = 0
  const counters = createCounters()
  const timers = createTimerSet(clock)
  let closed = false

  /** Loads in flight by key (L2 read + factory): concurrent callers share one. */
  const inflight = new Map<string, Promise<unknown>>()
  /** L2 reads in flight for `get`/`getMany`. */
  const reads = new Map<string, Promise<Entry | undefined>>()
  /**
   * Keys invalidated while a load of them was in flight: that load must not write back,
   * unless what it read is the very write that caused the invalidation (its write id).
   */
  const invalidatedDuringLoad = new Map<string, number | undefined>()
  /** Tag invalidations and flushes, which spoil the loads of the keys they touch. */
  const invalidations = new InvalidationClock()

  const onGateChange = (state: FailureGateState, previous: FailureGateState) => {
    // One line per outage, not one per failed command.
    if (state === 'open' && previous === 'closed') {
      logger.warn({ state }, 'cache: Redis unavailable; serving from L1 and stale entries')
    } else if (state === 'closed') {
      logger.info({ state }, 'cache: Redis reachable again')
    }
    if (events.has('store-state')) events.emit('store-state', { state, previous })
  }
  const store: RedisStore | undefined = parsed.redis
    ? createRedisStore({
        client: parsed.redis,
        prefix: parsed.prefix,
        commandTimeout: parsed.commandTimeout,
        clock,
        onGateChange,
      })
    : undefined

  const busTimeout = createCommandTimeout(Math.max(parsed.commandTimeout, 250), clock)
  const bus: Bus | undefined =
    parsed.redis && parsed.bus
      ? createBus({
          client: parsed.redis,
          channel: `{${parsed.prefix}}:bus`,
          instanceId,
          timeout: busTimeout,
          logger,
          onMessage: receive,
          onReconnect() {
            counters.busReconnects++
            flushLocal('reconnect')
            logger.info('cache bus reconnected; L1 flushed (invalidations may have been missed)')
          },
        })
      : undefined

  function storeError(operation: string, error: unknown): void {
    logger.debug({ err: error, operation }, 'cache: Redis command failed')
    if (events.has('store-error')) events.emit('store-error', { operation, error })
    channels['store-error'].publish({ operation, error })
  }

  function served(key: string, reason: StaleReason): void {
    counters.staleServed++
    if (events.has('stale')) events.emit('stale', { key, reason })
    channels.stale.publish({ key, reason })
  }

  function invalidatedEvent(payload: CacheEvents['invalidated']): void {
    if (events.has('invalidated')) events.emit('invalidated', payload)
    channels.invalidated.publish(payload)
  }

  function markKey(key: string, written?: number): void {
    l1.delete(key)
    if (inflight.has(key) || reads.has(key)) invalidatedDuringLoad.set(key, written)
  }

  function flushLocal(source: 'reconnect' | 'bus'): void {
    invalidations.flush()
    l1.clear()
    invalidatedEvent({ clear: true, source })
  }

  function receive(message: BusMessage): void {
    counters.busReceived++
    if (message.clear) {
      flushLocal('bus')
      return
    }
    if (message.keys) {
      for (const key of message.keys) {
        // It already read the very entry that was written (same write id): keep it.
        if (message.written !== undefined && l1.peek(key)?.w === message.written) continue
        markKey(key, message.written)
      }
    }
    if (message.tags && message.tags.length > 0) {
      invalidations.invalidateTags(message.tags)
      l1.deleteTagged(new Set(message.tags))
    }
    invalidatedEvent({ keys: message.keys, tags: message.tags, source: 'bus' })
  }

  async function publish(message: BusMessage): Promise<void> {
    if (!bus) return
    try {
      await bus.publish(message)
      counters.busPublished++
    } catch (error) {
      storeError('publish', error)
    }
  }

  function toL1(key: string, entry: Entry, bytes: number): L1Entry {
    const refreshFrom =
      beta > 0 && entry.d > 0 ? entry.e - entry.d * beta * XFETCH_HORIZON : Number.POSITIVE_INFINITY
    const l1Entry = new L1Entry(entry.v, entry.e, entry.s, entry.d, entry.w, entry.t, refreshFrom)
    l1.set(key, l1Entry, bytes)
    return l1Entry
  }

  /**
   * May this load still write what it got? Not if the key, or one of the tags it carries
   * (the entry's, or those it is about to be written with), was invalidated meanwhile.
   */
  function stillValid(
    key: string,
    startGeneration: number,
    entry?: Entry,
    tags: readonly string[] | undefined = entry?.t,
  ): boolean {
    if (invalidations.spoils(startGeneration, tags)) return false
    if (!invalidatedDuringLoad.has(key)) return true
    const written = invalidatedDuringLoad.get(key)
    return written !== undefined && entry?.w === written
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
        const entry = decodeEntry(raw)
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

  /** Validates and stores a value in both tiers; throws input errors before changing anything. */
  async function write(
    key: string,
    value: unknown,
    options: SetOptions | undefined,
    duration: number,
    /** The generation a load started at; `undefined` for an explicit `set`, which always writes. */
    startGeneration: number | undefined,
  ): Promise<void> {
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

  const ctx: LoadContext = {
    clock,
    logger,
    counters,
    timers,
    hardTimeout: hardDefault,
    closeSignal: closeController.signal,
    served,
    factoryFailed(key, error) {
      logger.debug({ err: error, key }, 'cache factory failed')
      if (events.has('factory-error')) events.emit('factory-error', { key, error })
      channels['factory-error'].publish({ key, error })
    },
    storeError,
    write,
    adopt(key, entry, raw, startGeneration) {
      if (stillValid(key, startGeneration, entry)) toL1(key, entry, raw.length * 2)
    },
  }

  /** Ends a load: later callers start their own. */
  function finish(key: string): void {
    inflight.delete(key)
    if (invalidatedDuringLoad.size > 0 && !reads.has(key)) invalidatedDuringLoad.delete(key)
  }

  /**
   * A getOrSet that missed L1. The L2 hit is the common path under load: it joins the
   * tick's batched read and costs one callback; the rest is in `afterL2`.
   */
  function load<T>(
    key: string,
    factory: Factory<T>,
    options: GetOrSetOptions | undefined,
    l1Entry: Entry | undefined,
  ): Promise<T> {
    const started = hitTime.now()
    const startGeneration = invalidations.generation
    invalidatedDuringLoad.delete(key)
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
          const entry = decodeEntry(raw)
          if (entry !== undefined && hitTime.now() < entry.e) {
            counters.l2Hits++
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
      counters.misses++
      if (events.has('miss')) events.emit('miss', { key })
      channels.miss.publish({ key })
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

  function share<T>(key: string, work: () => Promise<T>): Promise<T> {
    const pending = work()
    inflight.set(key, pending)
    const forget = () => {
      if (inflight.get(key) === pending) inflight.delete(key)
      if (!inflight.has(key) && !reads.has(key)) invalidatedDuringLoad.delete(key)
    }
    pending.then(forget, forget)
    return pending
  }

  function earlyRefresh<T>(
    key: string,
    entry: L1Entry,
    factory: Factory<T>,
    options?: GetOrSetOptions,
  ): void {
    if (inflight.has(key)) return
    counters.earlyRefreshes++
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
  }

  function checkSetOptions(options: SetOptions | undefined): void {
    if (options === undefined) return
    assertTtl(options.ttl)
    assertTtl(options.grace === 0 ? undefined : options.grace, 'grace')
    assertTags(options.tags)
  }

  function refuse(error: unknown): Promise<never> {
    return Promise.reject(error)
  }

  const cache: Cache = {
    on: events.on,
    ready: bus ? bus.ready : Promise.resolve(),

    getOrSet<T>(key: string, factory: Factory<T>, options?: GetOrSetOptions): Promise<T> {
      const entry = l1.get(key) as L1Entry | undefined
      if (entry !== undefined) {
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
        checkSetOptions(options)
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
      checkSetOptions(options)
      await write(key, value, options, 0, undefined)
    },

    async getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]> {
      for (const key of keys) assertKey(key)
      const now = hitTime.now()
      const results: (T | undefined)[] = new Array(keys.length)
      const stale: (Entry | undefined)[] = new Array(keys.length)
      const missing: number[] = []
      for (let i = 0; i < keys.length; i++) {
        const entry = l1.get(keys[i]!)
        if (entry !== undefined && now < entry.e) {
          l1Hits++
          results[i] = entry.v as T
        } else {
          stale[i] = entry !== undefined && now < entry.s ? entry : undefined
          missing.push(i)
        }
      }
      if (missing.length === 0 || !store) return results
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
          const entry = decodeEntry(raw)
          if (entry !== undefined && at < entry.e) {
            counters.l2Hits++
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
        }
      } catch (error) {
        storeError('getMany', error)
        for (const i of missing) {
          const entry = stale[i]
          if (entry !== undefined) {
            served(keys[i]!, 'store-unavailable')
            results[i] = entry.v as T
          }
        }
      }
      return results
    },

    async delete(keysInput: string | readonly string[]): Promise<void> {
      const keys = typeof keysInput === 'string' ? [keysInput] : [...keysInput]
      for (const key of keys) assertKey(key)
      for (const key of keys) markKey(key)
      invalidatedEvent({ keys, source: 'local' })
      if (!store) return
      await store.delete(keys)
      await publish({ keys })
    },

    async invalidateTags(tags: readonly string[]): Promise<void> {
      assertTags(tags)
      const list = [...tags]
      if (list.length === 0) return
      invalidations.invalidateTags(list)
      l1.deleteTagged(new Set(list))
      invalidatedEvent({ tags: list, source: 'local' })
      if (!store) return
      await store.invalidateTags(list)
      await publish({ tags: list })
    },

    async invalidateEntity(type: string, id: string | number): Promise<void> {
      const tag = entityTag(type, id)
      assertKey(type)
      assertKey(tag)
      invalidations.invalidateTags([tag])
      markKey(tag)
      l1.deleteTagged(new Set([tag]))
      invalidatedEvent({ keys: [tag], tags: [tag], source: 'local' })
      if (!store) return
      await Promise.all([store.delete([tag]), store.invalidateTags([tag])])
      await publish({ keys: [tag], tags: [tag] })
    },

    shrink(fraction: number): number {
      if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) {
        throw new TypeError(`shrink(fraction) needs a number from 0 to 1 (received ${String(fraction)})`)
      }
      return l1.shrink(fraction)
    },

    stats(): CacheStats {
      return {
        l1: { hits: l1Hits, size: l1.size, bytes: l1.bytes },
        l2: { hits: counters.l2Hits, errors: store?.errors ?? 0, state: store?.gateState ?? 'none' },
        misses: counters.misses,
        coalesced: counters.coalesced,
        staleServed: counters.staleServed,
        earlyRefreshes: counters.earlyRefreshes,
        factory: {
          calls: counters.factoryCalls,
          errors: counters.factoryErrors,
          softTimeouts: counters.softTimeouts,
          hardTimeouts: counters.hardTimeouts,
          latency: counters.factoryLatency.summary(),
        },
        lock: {
          acquired: counters.lockAcquired,
          waited: counters.lockWaited,
          fallbacks: counters.lockFallbacks,
        },
        bus: {
          published: counters.busPublished,
          received: counters.busReceived,
          reconnects: counters.busReconnects,
        },
        inflight: inflight.size,
      }
    },

    async close(): Promise<void> {
      if (closed) return
      closed = true
      closeController.abort(new ClosedError('The cache is closed'))
      timers.clear()
      store?.close()
      busTimeout.close()
      hitTime.close()
      await bus?.close()
      events.clear()
    },
  }
  return cache
}
