// The store behind a queue, made from its options: Redis when given a client, memory
// otherwise, both with the same retention, aging and stall settings.
import type { Clock } from '@headroom/core'
import { createMemoryStore } from '../memory/memory-store.js'
import { createRedisStore } from '../redis/redis-store.js'
import type { JobStore, StoreConfig } from '../store/job-store.js'
import type { ResolvedQueueOptions } from './queue-options.js'

export function createQueueStore(options: ResolvedQueueOptions, clock: Clock): JobStore {
  const config: StoreConfig = {
    completed: options.retention.completed,
    failed: options.retention.failed,
    agingMs: options.agingMs,
    maxStalls: options.maxStalls,
    eventsMaxLen: options.events,
    limiter: options.limiter,
  }
  return options.redis
    ? createRedisStore({
        redis: options.redis,
        prefix: options.prefix,
        name: options.name,
        config,
        addTimeoutMs: options.addTimeoutMs,
        commandTimeoutMs: options.commandTimeoutMs,
      })
    : createMemoryStore(config, clock)
}
