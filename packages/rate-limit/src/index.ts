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
export {
  type ConsumeOptions,
  createRateLimiter,
  type RateLimiter,
  type RateLimiterStats,
} from './rate-limiter.js'
export {
  createRedisStore,
  type RedisStore,
  type RedisStoreOptions,
  type RedisStoreStats,
} from './redis-store.js'
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
