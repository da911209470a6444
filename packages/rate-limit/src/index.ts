export type { Algorithm, ResolvedPolicy } from './algorithms/policy.js'
export {
  type ConcurrencyDecision,
  type ConcurrencyLimiter,
  type ConcurrencyLimiterOptions,
  createConcurrencyLimiter,
  type Lease,
} from './concurrency/concurrency-limiter.js'
export type { Decision, DecisionSource } from './limiter/decision.js'
export { type Duration, formatMs, toMs } from './limiter/duration.js'
export type { RateLimiterEvents } from './limiter/events.js'
export type { PolicyOptions, RateLimiterOptions, StoreErrorMode } from './limiter/options.js'
export { createRateLimiter } from './limiter/rate-limiter.js'
export type { ConsumeOptions, RateLimiter } from './limiter/rate-limiter-types.js'
export type { RateLimiterStats } from './limiter/stats.js'
export { createMemoryStore, type MemoryStore, type MemoryStoreOptions } from './stores/memory/memory-store.js'
export { createRedisStore } from './stores/redis/redis-store.js'
export type { RedisStore, RedisStoreOptions, RedisStoreStats } from './stores/redis/redis-store-types.js'
export type { RateLimitStore, StoreOp, StoreOpKind, StoreResult } from './stores/store.js'
