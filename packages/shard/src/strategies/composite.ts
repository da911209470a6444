import { murmur3, parseOptions } from '@headroom/core'
import { z } from 'zod'
import { buildPlacement } from '../placement/build-placement.js'
import type { OwnerTable } from '../placement/placement.js'
import { NoShardError } from '../shared/errors.js'
import { fnSchema, optionsSchema } from '../shared/options.js'
import { indexOfShard, type ShardStrategy } from './strategy.js'

/** Options of {@link compositeStrategy}. */
export interface CompositeStrategyOptions<K> {
  /** The group of a key, e.g. its region. */
  group: (key: K) => string
  /** The part of a key hashed within its group, e.g. the user id. */
  hashKey: (key: K) => string
  /** Shard ids per group, in placement order (append new shards at the end). */
  groups: Record<string, readonly string[]>
  /** The group of keys whose group is not listed; without it they throw {@link NoShardError}. @default undefined */
  fallback?: string
}

const compositeOptionsSchema = optionsSchema<
  CompositeStrategyOptions<unknown>,
  Required<Omit<CompositeStrategyOptions<unknown>, 'fallback'>> &
    Pick<CompositeStrategyOptions<unknown>, 'fallback'>
>()(
  z.object({
    group: fnSchema<(key: unknown) => string>(),
    hashKey: fnSchema<(key: unknown) => string>(),
    groups: z
      .record(
        z.string(),
        z.array(z.string().min(1, 'expected a shard id')).min(1, 'expected at least one shard'),
      )
      .refine((groups) => Object.keys(groups).length > 0, 'expected at least one group'),
    fallback: z.string().min(1, 'expected a group name').optional(),
  }),
)

/**
 * Composite sharding: a directory step (region) then consistent hashing within the
 * group's shards, each group with its own logical-shard placement.
 *
 * @example
 * const router = createShardRouter({
 *   shards: [{ id: 'eu-1', primary: a }, { id: 'eu-2', primary: b }, { id: 'us-1', primary: c }],
 *   strategy: compositeStrategy({
 *     group: (key: { region: string; userId: string }) => key.region,
 *     hashKey: (key) => key.userId,
 *     groups: { eu: ['eu-1', 'eu-2'], us: ['us-1'] },
 *   }),
 * })
 * router.shardFor({ region: 'eu', userId: '42' }).id // 'eu-1' or 'eu-2', always the same
 */
export function compositeStrategy<K>(input: CompositeStrategyOptions<K>): ShardStrategy<K> {
  const options = parseOptions(
    'compositeStrategy',
    compositeOptionsSchema,
    input,
  ) as CompositeStrategyOptions<K>
  const names = Object.keys(options.groups)
  return {
    kind: 'composite',
    bind({ ids, weights, logicalShards, seed }) {
      const tables = new Map<string, { owners: OwnerTable; indexes: Int32Array }>()
      for (const name of names) {
        const members = options.groups[name]!
        const indexes = Int32Array.from(members, (id) =>
          indexOfShard(ids, id, `compositeStrategy group "${name}"`),
        )
        const placement = buildPlacement(
          members.map((id, i) => ({ id, weight: weights[indexes[i]!]! })),
          logicalShards,
          seed,
        )
        tables.set(name, { owners: placement.owners, indexes })
      }
      if (options.fallback !== undefined && !tables.has(options.fallback))
        throw new TypeError(
          `Invalid compositeStrategy option "fallback": "${options.fallback}" is not a group`,
        )
      const fallback = options.fallback === undefined ? undefined : tables.get(options.fallback)
      return (key) => {
        const group = options.group(key)
        const table = tables.get(group) ?? fallback
        if (!table) throw new NoShardError(`compositeStrategy has no group "${group}" and no fallback`)
        const bucket = Math.floor((murmur3(options.hashKey(key), seed) * logicalShards) / 4294967296)
        return table.indexes[table.owners[bucket]!]!
      }
    },
  }
}
