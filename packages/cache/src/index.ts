export { createCache } from './cache.js'
export { entityTag } from './entity.js'
export { CacheInputError, isCacheInputError } from './errors.js'
export type { CacheOptions } from './options/options.js'
export type { Serializer } from './tiers/entry.js'
export type {
  Cache,
  CacheEvents,
  CacheStats,
  Factory,
  FactoryContext,
  GetOrSetOptions,
  GroupStats,
  SetOptions,
  StaleReason,
  WarmSource,
} from './types.js'
