import { UnknownShardError } from '../shared/errors.js'

/** What a strategy is bound to: the router's shards and placement settings. */
export interface StrategyContext {
  /** Shard ids in the order the router lists them. */
  readonly ids: readonly string[]
  readonly weights: readonly number[]
  readonly logicalShards: number
  readonly seed: number
}

/**
 * A way to map keys to shards other than the router's own hash placement: by date
 * range, by directory lookup, or composite (a group, then a hash within it).
 */
export interface ShardStrategy<K> {
  readonly kind: string
  /**
   * Checks the strategy against the router's shards (refusing unknown ids) and returns
   * the resolver: key → index into `context.ids`. Called once, at construction.
   */
  bind(context: StrategyContext): (key: K) => number
}

/** The index of `id` in `ids`, or an {@link UnknownShardError} naming where it was used. */
export function indexOfShard(ids: readonly string[], id: string, where: string): number {
  const index = ids.indexOf(id)
  if (index < 0)
    throw new UnknownShardError(`${where} names shard "${id}", which is not in shards (${ids.join(', ')})`)
  return index
}
