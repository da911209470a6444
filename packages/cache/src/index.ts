export { type Cache, createCache, entityTag } from './cache.js'
export { CacheInputError, isCacheInputError } from './errors.js'
export type { CacheOptions } from './options.js'
export type {
  CacheEvents,
  CacheStats,
  Factory,
  FactoryContext,
  GetOrSetOptions,
  SetOptions,
  StaleReason,
} from './types.js'
