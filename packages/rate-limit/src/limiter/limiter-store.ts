import type { Clock } from '@headroom/core'
import { createMemoryStore, type MemoryStoreOptions } from '../stores/memory/memory-store.js'
import { createRedisStore } from '../stores/redis/redis-store.js'
import type { RateLimitStore } from '../stores/store.js'
import type { ParsedOptions } from './options.js'

/** The store a limiter decides with: the one given, else Redis when a client is given, else memory. */
export function createLimiterStore(
  options: ParsedOptions,
  clock: Clock,
  memoryOptions: MemoryStoreOptions,
): RateLimitStore {
  if (options.store) return options.store
  if (options.redis)
    return createRedisStore({
      redis: options.redis,
      prefix: options.prefix,
      timeoutMs: options.timeout,
      time: options.time,
      maxBatch: options.maxBatch,
      failureGate: options.failureGate,
      clock,
    })
  return createMemoryStore(memoryOptions)
}
