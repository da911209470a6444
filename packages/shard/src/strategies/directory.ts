import { parseOptions } from '@headroom/core'
import { z } from 'zod'
import { NoShardError } from '../shared/errors.js'
import { fnSchema, optionsSchema } from '../shared/options.js'
import { indexOfShard, type ShardStrategy } from './strategy.js'

/** Options of {@link directoryStrategy}. */
export interface DirectoryStrategyOptions<K> {
  /** Key (a region, a content type, a tenant) → shard id. */
  entries: Record<string, string> | ReadonlyMap<string, string>
  /** The shard of keys not in `entries`; without it they throw {@link NoShardError}. @default undefined */
  fallback?: string
  /** The directory key of a routing key. @default String(key) */
  keyOf?: (key: K) => string
}

const directoryOptionsSchema = optionsSchema<
  DirectoryStrategyOptions<unknown>,
  Required<Omit<DirectoryStrategyOptions<unknown>, 'fallback'>> &
    Pick<DirectoryStrategyOptions<unknown>, 'fallback'>
>()(
  z.object({
    entries: z.union(
      [z.instanceof(Map<string, string>), z.record(z.string(), z.string().min(1, 'expected a shard id'))],
      { error: 'expected an object or a Map' },
    ),
    fallback: z.string().min(1, 'expected a shard id').optional(),
    keyOf: fnSchema<(key: unknown) => string>().default(() => (key: unknown) => String(key)),
  }),
)

/**
 * Directory sharding: an explicit table from a key (region, content type) to a shard.
 *
 * @example
 * const router = createShardRouter({
 *   shards: [{ id: 'eu', primary: euPool }, { id: 'us', primary: usPool }],
 *   strategy: directoryStrategy({ entries: { fr: 'eu', de: 'eu', ca: 'us' }, fallback: 'us' }),
 * })
 * router.shardFor('fr').id // 'eu'
 */
export function directoryStrategy<K = string>(input: DirectoryStrategyOptions<K>): ShardStrategy<K> {
  const options = parseOptions('directoryStrategy', directoryOptionsSchema, input)
  const entries = options.entries instanceof Map ? [...options.entries] : Object.entries(options.entries)
  const keyOf = options.keyOf as (key: K) => string
  return {
    kind: 'directory',
    bind({ ids }) {
      const table = new Map<string, number>()
      for (const [key, shard] of entries)
        table.set(key, indexOfShard(ids, shard, `directoryStrategy entry "${key}"`))
      const fallback =
        options.fallback === undefined
          ? -1
          : indexOfShard(ids, options.fallback, 'directoryStrategy fallback')
      return (key) => {
        const name = keyOf(key)
        const index = table.get(name)
        if (index !== undefined) return index
        if (fallback >= 0) return fallback
        throw new NoShardError(`The directory has no entry for "${name}" and no fallback`)
      }
    },
  }
}
