export {
  type ConcurrencyDecision,
  type ConcurrencyLimiter,
  type ConcurrencyLimiterOptions,
  createConcurrencyLimiter,
  type Lease,
} from './concurrency-limiter.js'
export { type Duration, formatMs, toMs } from './duration.js'
export type { RateLimiterEvents } from './events.js'
export { createMemoryStore, type MemoryStore, type MemoryStoreOptions } from './memory-store.js'
export type { PolicyOptions, RateLimiterOptions, StoreErrorMode } from './options.js'
export { createRateLimiter } from './rate-limiter.js'
export type { RateLimiterStats } from './rate-limiter-stats.js'
export type { ConsumeOptions, RateLimiter } from './rate-limiter-types.js'
export { createRedisStore } from './redis-store.js'
export type { RedisStore, RedisStoreOptions, RedisStoreStats } from './redis-store-types.js'
export type {
  Algorithm,
  Decision,
  DecisionSource,
  RateLimitStore,
  ResolvedPolicy,
  StoreOp,
  StoreOpKind,
  StoreResult,
} from './types.js'
