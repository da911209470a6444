import { defineError, isHeadroomError } from '@headroom/core'

/** A shard id that the router (or a strategy, or a plan) does not know. */
export const UnknownShardError = defineError('E_UNKNOWN_SHARD', 'Unknown shard id')

/** A target handed to `eject`/`readmit`/`reportLag` that no shard or balancer holds. */
export const UnknownTargetError = defineError('E_UNKNOWN_TARGET', 'Unknown target')

/** A range or directory strategy has no shard for the key and no fallback. */
export const NoShardError = defineError('E_NO_SHARD', 'No shard for the key')

/** Every target that could serve the request is ejected (or lagging). */
export const ShardUnavailableError = defineError('E_SHARD_UNAVAILABLE', 'No healthy target for the shard')

/** A balancer has no healthy target left. */
export const NoHealthyTargetError = defineError('E_NO_HEALTHY_TARGET', 'No healthy target')

/** `apply(plan)` got a plan computed against a topology that has changed since. */
export const StalePlanError = defineError('E_STALE_PLAN', 'The plan was made for an older topology')

/** The operation needs a different strategy (e.g. `plan()` on a range router). */
export const UnsupportedOperationError = defineError('E_UNSUPPORTED', 'Unsupported operation')

/** The error classes `@headroom/shard` defines, by code. */
export const errors = {
  E_UNKNOWN_SHARD: UnknownShardError,
  E_UNKNOWN_TARGET: UnknownTargetError,
  E_NO_SHARD: NoShardError,
  E_SHARD_UNAVAILABLE: ShardUnavailableError,
  E_NO_HEALTHY_TARGET: NoHealthyTargetError,
  E_STALE_PLAN: StalePlanError,
  E_UNSUPPORTED: UnsupportedOperationError,
} as const

/** True for an {@link UnknownShardError}. */
export const isUnknownShardError = (error: unknown) => isHeadroomError(error, 'E_UNKNOWN_SHARD')
/** True for a {@link ShardUnavailableError}. */
export const isShardUnavailableError = (error: unknown) => isHeadroomError(error, 'E_SHARD_UNAVAILABLE')
/** True for a {@link NoShardError}. */
export const isNoShardError = (error: unknown) => isHeadroomError(error, 'E_NO_SHARD')
