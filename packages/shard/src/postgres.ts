export {
  MOVE_STATES,
  type Move,
  type MoveBatch,
  type MovePlan,
  type MoveState,
  type StoredShard,
  type StoredTopology,
} from './move/control.js'
export { bitmapLiteral, logicalShardFunctionSql, logicalShardOf } from './move/logical-shard.js'
export {
  createShardMover,
  isShardMovingError,
  SHARD_MOVING_SQLSTATE,
  type ShardMover,
  type ShardMoverOptions,
} from './move/mover.js'
export { createTopologyStore, type TopologyStore, type TopologyStoreOptions } from './move/topology-store.js'
