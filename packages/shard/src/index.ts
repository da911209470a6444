export { createBalancer } from './balancer/balancer.js'
export type { BalancerEvents } from './balancer/events.js'
export type { BalancerOptions, BalancerStrategy } from './balancer/options.js'
export type { BalancerStats } from './balancer/stats.js'
export type { Balancer, PickContext } from './balancer/types.js'
export { createHashRing, type HashRing, type HashRingOptions, type RingNode } from './placement/hash-ring.js'
export type { ImbalanceReport } from './placement/imbalance.js'
export type { ShardLayout } from './placement/layout.js'
export type { ShardLoad, ShardMove, ShardTransfer } from './placement/plan.js'
export {
  type ReplicaLag,
  type ReplicaLagOptions,
  type ReplicaLagProbe,
  watchReplicaLag,
} from './postgres/replica-lag.js'
export type { ShardRouterEvents } from './router/events.js'
export { mergeSorted } from './router/merge.js'
export type { ShardRouterOptions } from './router/options.js'
export { createShardRouter } from './router/router.js'
export type { Shard, ShardSpec } from './router/shard-spec.js'
export type { ShardRouterStats } from './router/stats.js'
export type { TopologyPlan } from './router/topology-plan.js'
export type { Route, RouteOptions, ShardRouter } from './router/types.js'
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
} from './shared/errors.js'
export { type CompositeStrategyOptions, compositeStrategy } from './strategies/composite.js'
export { type DirectoryStrategyOptions, directoryStrategy } from './strategies/directory.js'
export {
  type RangeBound,
  type RangeSpec,
  type RangeStrategyOptions,
  rangeStrategy,
} from './strategies/range.js'
export type { ShardStrategy, StrategyContext } from './strategies/strategy.js'
