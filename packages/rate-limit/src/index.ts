export type { Algorithm, ResolvedPolicy } from './algorithms/policy.js'
export { createConcurrencyLimiter } from './concurrency/concurrency-limiter.js'
export type {
  ConcurrencyDecision,
  ConcurrencyLimiter,
  ConcurrencyLimiterOptions,
  Lease,
} from './concurrency/types.js'
export type { Decision, DecisionSource } from './limiter/decision.js'
export type { RateLimiterEvents } from './limiter/events.js'
export type { PolicyOptions, RateLimiterOptions, StoreErrorMode } from './limiter/options.js'
export { createRateLimiter } from './limiter/rate-limiter.js'
export type { ConsumeOptions, RateLimiter } from './limiter/rate-limiter-types.js'
export type { RateLimiterStats } from './limiter/stats.js'
export { type Duration, formatMs, toMs } from './shared/duration.js'
export { createMemoryStore, type MemoryStore, type MemoryStoreOptions } from './stores/memory/memory-store.js'
export { createRedisStore } from './stores/redis/redis-store.js'
export type { RedisStore, RedisStoreOptions, RedisStoreStats } from './stores/redis/redis-store-types.js'
export type { RateLimitStore, StoreOp, StoreOpKind, StoreResult } from './stores/store.js'
