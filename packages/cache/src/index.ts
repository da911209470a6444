export { createCache } from './cache.js'
export { entityTag } from './entity.js'
export type { Serializer } from './entry.js'
export { CacheInputError, isCacheInputError } from './errors.js'
export type { GroupStats } from './key-groups.js'
export type { CacheOptions } from './options.js'
export type {
  Cache,
  CacheEvents,
  CacheStats,
  Factory,
  FactoryContext,
  GetOrSetOptions,
  SetOptions,
  StaleReason,
  WarmSource,
} from './types.js'
