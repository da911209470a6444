export {
  MOVE_STATES,
  type Move,
  type MoveBatch,
  type MovePlan,
  type MoveState,
  type StoredShard,
  type StoredTopology,
} from './postgres/control.js'
export { bitmapLiteral, logicalShardFunctionSql, logicalShardOf } from './postgres/logical-shard.js'
export {
  createShardMover,
  isShardMovingError,
  SHARD_MOVING_SQLSTATE,
  type ShardMover,
  type ShardMoverOptions,
} from './postgres/mover.js'
export {
  createTopologyStore,
  type TopologyStore,
  type TopologyStoreOptions,
} from './postgres/topology-store.js'
