// The store behind a queue, made from its options: Redis when given a client, memory
// otherwise, both with the same retention, aging and stall settings.
import type { Clock } from '@headroom/core'
import { createMemoryStore } from '../memory/memory-store.js'
import { createRedisStore } from '../redis/redis-store.js'
import type { JobStore, StoreConfig } from '../store/job-store.js'
import type { ResolvedQueueOptions } from './queue-options.js'

export function createQueueStore(options: ResolvedQueueOptions, clock: Clock): JobStore {
  const config: StoreConfig = {
    completed: {
      count: options.retention.completed?.count ?? 1000,
      ageMs: options.retention.completed?.ageMs ?? 86_400_000,
    },
    failed: {
      count: options.retention.failed?.count ?? 10_000,
      ageMs: options.retention.failed?.ageMs ?? 604_800_000,
    },
    agingMs: options.agingMs,
    maxStalls: options.maxStalls,
    eventsMaxLen: options.events === false ? 0 : options.events === true ? 10_000 : options.events.maxLen,
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
