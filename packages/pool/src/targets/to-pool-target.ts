// What createPoolSizer's `target` may be: a pg Pool or a generic-pool pool (wrapped in
// their adapters, told apart by their fields since neither package need be installed),
// or a PoolTarget already.
import { type GenericPoolLike, genericPoolTarget } from './generic-pool-target.js'
import { type PgPoolLike, pgPoolTarget } from './pg-pool-target.js'
import type { PoolTarget } from './pool-target.js'

function isPgPool(value: object): value is PgPoolLike {
  const candidate = value as Partial<PgPoolLike>
  return typeof candidate.options?.max === 'number' && 'waitingCount' in candidate && 'idleCount' in candidate
}

function isGenericPool(value: object): value is GenericPoolLike {
  return '_config' in value && 'borrowed' in value && 'pending' in value
}

export function toTarget(value: object): PoolTarget {
  if (typeof (value as Partial<PoolTarget>).resize === 'function' && 'kind' in value)
    return value as PoolTarget
  if (isPgPool(value)) return pgPoolTarget(value)
  if (isGenericPool(value)) return genericPoolTarget(value)
  throw new TypeError(
    'Invalid createPoolSizer option "target": expected a pg Pool, a generic-pool pool or a PoolTarget (received an unknown object)',
  )
}
