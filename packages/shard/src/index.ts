export { createBalancer } from './balancer.js'
export type { BalancerEvents } from './balancer-events.js'
export type { BalancerOptions, BalancerStrategy } from './balancer-options.js'
export type { BalancerStats } from './balancer-stats.js'
export type { Balancer, PickContext } from './balancer-types.js'
export { type CompositeStrategyOptions, compositeStrategy } from './composite-strategy.js'
export { type DirectoryStrategyOptions, directoryStrategy } from './directory-strategy.js'
export {
  errors,
  isNoShardError,
  isShardUnavailableError,
  isUnknownShardError,
  NoHealthyTargetError,
  NoShardError,
  ShardUnavailableError,
  StalePlanError,
  UnknownShardError,
  UnknownTargetError,
  UnsupportedOperationError,
} from './errors.js'
export { createHashRing, type HashRing, type HashRingOptions, type RingNode } from './hash-ring.js'
export type { ImbalanceReport } from './imbalance.js'
export type { ShardLayout } from './layout.js'
export { mergeSorted } from './merge.js'
export type { ShardLoad, ShardMove, ShardTransfer } from './plan.js'
export {
  type RangeBound,
  type RangeSpec,
  type RangeStrategyOptions,
  rangeStrategy,
} from './range-strategy.js'
export {
  type ReplicaLag,
  type ReplicaLagOptions,
  type ReplicaLagProbe,
  watchReplicaLag,
} from './replica-lag.js'
export { createShardRouter } from './router.js'
export type { ShardRouterEvents } from './router-events.js'
export type { ShardRouterOptions } from './router-options.js'
export type { ShardRouterStats } from './router-stats.js'
export type { Route, RouteOptions, ShardRouter } from './router-types.js'
export type { ShardStrategy, StrategyContext } from './strategy.js'
export type { Shard, ShardSpec } from './topology.js'
export type { TopologyPlan } from './topology-plan.js'
