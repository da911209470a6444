export { type AimdParams, type AimdState, aimd, aimdDefaults, aimdInit } from './algorithms/aimd.js'
export {
  type Gradient2Params,
  type Gradient2State,
  gradient2,
  gradient2Defaults,
  gradient2Init,
} from './algorithms/gradient2.js'
export {
  createLimitAlgorithm,
  type LimitAlgorithm,
  type LimitAlgorithmName,
  type LimitAlgorithmSpec,
} from './algorithms/limit-algorithm.js'
export type { LimitBounds, LimitSample } from './algorithms/limit-sample.js'
export {
  type MinRttParams,
  type MinRttState,
  minrtt,
  minrttDefaults,
  minrttInit,
} from './algorithms/minrtt.js'
export {
  log10Root,
  type VegasParams,
  type VegasState,
  vegas,
  vegasDefaults,
  vegasInit,
} from './algorithms/vegas.js'
export { createAdaptiveLimiter, createConcurrencyLimiter } from './limiter/adaptive-limiter.js'
export type { AdaptiveLimiterOptions, ConcurrencyLimiterOptions } from './limiter/options.js'
export type {
  AcquireOptions,
  AdaptiveLimiter,
  ConcurrencyLimiter,
  Lease,
  LimitChangeReason,
  LimiterEvents,
  LimiterStats,
  PartitionStats,
} from './limiter/types.js'
export { poolChannels } from './shared/channels.js'
export { isDropError } from './shared/drops.js'
export { isLimitExceededError, LimitExceededError, type RejectReason } from './shared/errors.js'
export type { PoolSizerOptions } from './sizer/options.js'
export { createPoolSizer } from './sizer/pool-sizer.js'
export type { PoolSizer, PoolSizerEvents, PoolSizerStats, ResizeReason } from './sizer/types.js'
export {
  type GenericPoolLike,
  type GenericPoolTargetOptions,
  genericPoolTarget,
} from './targets/generic-pool-target.js'
export {
  type PgClientLike,
  type PgConnectCallback,
  type PgPoolLike,
  type PgPoolTargetOptions,
  pgPoolTarget,
} from './targets/pg-pool-target.js'
export type { CheckoutOutcome, PoolObserver, PoolSnapshot, PoolTarget } from './targets/pool-target.js'
