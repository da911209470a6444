import { defineError, isHeadroomError } from '@headroom/core'

/**
 * A call got input the cache refuses (an empty key, `undefined` as a value, a
 * negative TTL): the cache is left unchanged.
 */
export const CacheInputError = defineError('E_CACHE_INPUT', 'Invalid cache input')

/** True for a {@link CacheInputError}. */
export const isCacheInputError = (error: unknown) => isHeadroomError(error, 'E_CACHE_INPUT')
