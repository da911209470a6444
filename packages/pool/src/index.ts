export { type AimdParams, type AimdState, aimd, aimdDefaults, aimdInit } from './aimd.js'
export { poolChannels } from './channels.js'
export { createConcurrencyLimiter } from './concurrency-limiter.js'
export { isDropError } from './drops.js'
export { isLimitExceededError, LimitExceededError, type RejectReason } from './errors.js'
export {
  type GenericPoolLike,
  type GenericPoolTargetOptions,
  genericPoolTarget,
} from './generic-pool-target.js'
export {
  type Gradient2Params,
  type Gradient2State,
  gradient2,
  gradient2Defaults,
  gradient2Init,
} from './gradient2.js'
export {
  createLimitAlgorithm,
  type LimitAlgorithm,
  type LimitAlgorithmName,
  type LimitAlgorithmSpec,
} from './limit-algorithm.js'
export type { LimitBounds, LimitSample } from './limit-sample.js'
export type { ConcurrencyLimiterOptions } from './limiter-options.js'
export type {
  AcquireOptions,
  ConcurrencyLimiter,
  Lease,
  LimitChangeReason,
  LimiterEvents,
  LimiterStats,
  PartitionStats,
} from './limiter-types.js'
export { type MinRttParams, type MinRttState, minrtt, minrttDefaults, minrttInit } from './minrtt.js'
export {
  type PgClientLike,
  type PgConnectCallback,
  type PgPoolLike,
  type PgPoolTargetOptions,
  pgPoolTarget,
} from './pg-pool-target.js'
export { createPoolSizer } from './pool-sizer.js'
export type { PoolSizerOptions } from './pool-sizer-options.js'
export type { PoolSizer, PoolSizerEvents, PoolSizerStats, ResizeReason } from './pool-sizer-types.js'
export type { CheckoutOutcome, PoolObserver, PoolSnapshot, PoolTarget } from './pool-target.js'
export { log10Root, type VegasParams, type VegasState, vegas, vegasDefaults, vegasInit } from './vegas.js'
