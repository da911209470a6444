import { performance } from 'node:perf_hooks'
import {
  type Cache,
  type CacheStats,
  createCache,
  type Factory,
  type GetOrSetOptions,
  type SetOptions,
} from '@headroom/cache'
import { cacheResponse } from '@headroom/cache/express'
import type { RedisClient } from '@headroom/core'
import { createMemoryGauge } from '@headroom/health'
import type { RequestHandler } from 'express'
import { type AppLogger, boundLogger } from '../logger.js'

/** What the routes use: getOrSet with invalidation; a pass-through when Headroom is off. */
export interface AppCache {
  getOrSet<T>(key: string, factory: Factory<T>, options?: GetOrSetOptions): Promise<T>
  /** Writes a value just stored in the database (write-through); never fails the request. */
  set<T>(key: string, value: T, options?: SetOptions): Promise<void>
  delete(key: string): Promise<void>
  invalidateTags(tags: string[]): Promise<void>
  /** Evicts a share of L1 (memory pressure); returns how many entries went. */
  shrink(fraction: number): number
  /** Response cache for a GET route, per user; a no-op when Headroom is off. */
  responses(ttlMs: number, tags?: (userId: string) => string[]): RequestHandler
  stats(): CacheStats | null
  close(): Promise<void>
}

/**
 * Key groups of `stats().groups` and `headroom_cache_group_reads_total{group}`: one per
 * kind of cached read (the load test reports the hit rate of each against the 80 % target).
 */
export const CACHE_KEY_GROUPS = [
  'content:daily:',
  'content:item:',
  'content-list:',
  'profiles:',
  'user:',
  'astro:',
  'http:',
] as const

/** Where workers share the keys they read most, for the next worker that starts. */
const HOT_KEYS_TTL_MS = 86_400_000
const HOT_KEYS_EVERY_MS = 30_000

/**
 * The app cache: L1 in process + L2 in Redis when there is one, TTL tiers by key
 * prefix, a bus keeping every worker's L1 coherent, grace so a failing database or
 * Redis serves the last good value, and a cross-process stampede lock. It sheds L1 on
 * its own when RSS nears the container's limit, keeps the hottest keys fresh while the
 * worker is idle, and a starting worker warms L1 from Redis with the keys the others read
 * most.
 */
export function createAppCache(options: {
  enabled: boolean
  redis: RedisClient | undefined
  prefix: string
  logger: AppLogger
}): AppCache {
  if (!options.enabled) return passThrough()
  // RSS against the container's memory limit (cgroup), else the machine's memory.
  const memory = createMemoryGauge()
  // Idle enough for background refreshes: the event loop was busy less than half the
  // time since the previous pass, and memory is not short.
  let lastLoop = performance.eventLoopUtilization()
  const idle = () => {
    const now = performance.eventLoopUtilization()
    const busy = performance.eventLoopUtilization(now, lastLoop).utilization
    lastLoop = now
    return busy < 0.5 && memory.ratio() < 0.7
  }
  const cache: Cache = createCache({
    ...(options.redis ? { redis: options.redis } : {}),
    prefix: `${options.prefix}:cache`,
    l1: { max: 50_000 },
    ttl: 60_000,
    tiers: { 'content:': 3_600_000, 'user:': 300_000, 'profiles:': 300_000, 'http:': 30_000 },
    grace: 600_000,
    timeout: { soft: 150, hard: 5_000 },
    // Redis on a busy host often takes longer than the 50 ms default; past this the cache
    // counts Redis as failing and serves L1 (its failure gate probes it back).
    commandTimeout: 150,
    // Most keys are per user, where a cross-process stampede is rare: the lock (two more
    // round trips per miss) is asked for per call, on the expensive factories only.
    lock: false,
    // A write-through (profile edits), a delete or a tag invalidation that Redis or the bus
    // did not take (Redis down, this instance partitioned from it, a timeout on a busy
    // host) is queued and replayed once Redis answers, before reads go back to it, and
    // every instance drops its L1 copy then. Without it an edit acknowledged during the
    // outage would appear reverted everywhere until the TTL.
    recovery: { policy: 'recover' },
    keyGroups: [...CACHE_KEY_GROUPS],
    memoryPressure: { signal: () => memory.ratio(), threshold: 0.85 },
    prefetch: { idle, keys: 200 },
    logger: boundLogger(options.logger),
  })
  const hotKeysKey = `${options.prefix}:cache-hot-keys`
  const redis = options.redis
  let shareTimer: NodeJS.Timeout | undefined
  if (redis) {
    // A restarted worker starts warm: the keys the others read most, from L2, in the
    // background (requests do not wait for it; a miss meanwhile loads as usual).
    void (async () => {
      const shared = await redis.get(hotKeysKey)
      const keys = shared ? (JSON.parse(shared) as string[]) : []
      const warmed = await cache.warm(keys)
      options.logger.info({ keys: keys.length, warmed }, 'cache warmed from Redis')
    })().catch((error: unknown) => options.logger.warn({ err: error }, 'cache warm-up failed'))
    shareTimer = setInterval(() => {
      const hottest = cache.hotKeys()
      if (hottest.length === 0) return
      redis
        .set(hotKeysKey, JSON.stringify(hottest), 'PX', HOT_KEYS_TTL_MS)
        .catch((error: unknown) => options.logger.debug({ err: error }, 'sharing hot cache keys failed'))
    }, HOT_KEYS_EVERY_MS)
    shareTimer.unref()
  }
  cache.on('recovery-dropped', (event) =>
    options.logger.warn(
      { operation: event.operation, key: event.key, tags: event.tags, reason: event.reason },
      'a cache write Redis did not take was dropped instead of replayed; other instances keep their copy until its TTL',
    ),
  )
  // With recovery these resolve when Redis fails; what is left to reject is unexpected,
  // and a request whose database write succeeded must not fail for its cache.
  const warn = (error: unknown, operation: string) =>
    options.logger.warn({ err: error, operation }, 'cache write or invalidation failed')
  return {
    getOrSet: (key, factory, opts) => cache.getOrSet(key, factory, opts),
    // L1 is written at once; L2 and the other instances get it now or, when Redis fails,
    // on replay.
    set: (key, value, opts) => cache.set(key, value, opts).catch((error: unknown) => warn(error, 'set')),
    delete: (key) => cache.delete(key).catch((error: unknown) => warn(error, 'delete')),
    invalidateTags: (tags) =>
      cache.invalidateTags(tags).catch((error: unknown) => warn(error, 'invalidateTags')),
    shrink: (fraction) => cache.shrink(fraction),
    responses: (ttlMs, tags) =>
      cacheResponse({
        cache,
        ttl: ttlMs,
        user: (req) => req.user?.sub,
        ...(tags ? { tags: (req) => (req.user ? tags(req.user.sub) : undefined) } : {}),
      }),
    stats: () => cache.stats(),
    close: async () => {
      clearInterval(shareTimer)
      memory.close()
      await cache.close()
    },
  }
}

/** Headroom off: every read goes to the database (the load test's baseline). */
function passThrough(): AppCache {
  const controller = new AbortController()
  const skip: RequestHandler = (_req, _res, next) => next()
  return {
    getOrSet: async (key, factory) => factory({ key, stale: undefined, signal: controller.signal }),
    set: async () => {},
    delete: async () => {},
    invalidateTags: async () => {},
    shrink: () => 0,
    responses: () => skip,
    stats: () => null,
    close: async () => controller.abort(),
  }
}
