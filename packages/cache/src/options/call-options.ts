// Checks of the per-call arguments of the public methods. They run before anything is
// changed and cost a typeof and a short key loop: no schema library on a request path.

import { describeValue } from '@headroom/core'
import { CacheInputError } from '../errors.js'

/** Throws a {@link CacheInputError} for a key the cache refuses. */
export function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new CacheInputError(`Cache key must be a non-empty string (received ${describe(key)})`)
  }
}

/**
 * Longest TTL (or grace) accepted: 10 years. Entries use no timers, but Redis takes PX as an
 * integer, and a TTL past this is a bug (a seconds/ms mix-up) more often than an intent.
 */
export const MAX_TTL_MS = 315_360_000_000

/** Throws for a TTL that is not a positive finite number of ms up to {@link MAX_TTL_MS}. */
export function assertTtl(ttl: unknown, what = 'ttl'): void {
  if (ttl === undefined) return
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0 || ttl > MAX_TTL_MS) {
    throw new CacheInputError(
      `Cache ${what} must be a positive number of ms up to ${MAX_TTL_MS} (received ${describe(ttl)})`,
    )
  }
}

/** Throws for tags that are not an array of non-empty strings. */
export function assertTags(tags: unknown): void {
  if (tags === undefined) return
  if (!Array.isArray(tags) || tags.some((tag) => typeof tag !== 'string' || tag.length === 0)) {
    throw new CacheInputError(`Cache tags must be an array of non-empty strings (received ${describe(tags)})`)
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value)
  return typeof value
}

const setKeys = new Set(['ttl', 'tags', 'grace'])
const getOrSetKeys = new Set(['ttl', 'tags', 'grace', 'timeout', 'lock'])
const timeoutKeys = new Set(['soft', 'hard'])

const known = (keys: ReadonlySet<string>) => [...keys].join(', ')

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function refuseUnknown(method: string, value: Record<string, unknown>, keys: ReadonlySet<string>, path = '') {
  for (const key in value) {
    if (!keys.has(key)) {
      throw new TypeError(`cache.${method}: unknown option "${path}${key}" (known: ${known(keys)})`)
    }
  }
}

/**
 * The hit path's check of `getOrSet` options: true when every key is known. A loop over
 * a few keys and no allocation, so an L1 hit refuses a misspelt option as a miss does;
 * what fails goes down the miss path, where `checkSetOptions` names the key.
 */
export function hasKnownGetOrSetKeys(options: object): boolean {
  for (const key in options) {
    if (key === 'ttl' || key === 'tags' || key === 'grace' || key === 'lock') continue
    if (key !== 'timeout') return false
    const timeout = (options as { timeout?: unknown }).timeout
    if (typeof timeout === 'object' && timeout !== null) {
      for (const inner in timeout) if (inner !== 'soft' && inner !== 'hard') return false
    }
  }
  return true
}

/** The options of `set` (or the shared part of `getOrSet`'s): shape, known keys, values. */
export function checkSetOptions(method: 'set' | 'getOrSet', options: unknown): void {
  if (options === undefined) return
  if (!isPlainObject(options)) {
    throw new TypeError(
      `cache.${method}: options must be an object like { ttl: 60_000 }, received ${describeValue(options)}`,
    )
  }
  refuseUnknown(method, options, method === 'set' ? setKeys : getOrSetKeys)
  assertTtl(options.ttl)
  assertTtl(options.grace === 0 ? undefined : options.grace, 'grace')
  assertTags(options.tags)
  if (method === 'set') return
  const timeout = options.timeout
  if (timeout !== undefined) {
    if (!isPlainObject(timeout)) {
      throw new TypeError(
        `cache.getOrSet: option "timeout" must be an object like { soft: 100, hard: 10_000 }, received ${describeValue(timeout)}`,
      )
    }
    refuseUnknown(method, timeout, timeoutKeys, 'timeout.')
    assertTtl(timeout.soft === 0 ? undefined : timeout.soft, 'timeout.soft')
    assertTtl(timeout.hard, 'timeout.hard')
  }
  if (options.lock !== undefined && typeof options.lock !== 'boolean') {
    throw new TypeError(
      `cache.getOrSet: option "lock" must be a boolean, received ${describeValue(options.lock)}`,
    )
  }
}

/** `keys` of `getMany`: an array (a string would be read one character at a time). */
export function checkKeyList(method: 'getMany' | 'warm', keys: unknown, extra: number): void {
  if (!Array.isArray(keys)) {
    throw new TypeError(
      `cache.${method}: keys must be an array of strings like ['user:1'], received ${describeValue(keys)}`,
    )
  }
  if (extra > 0) throw new TypeError(`cache.${method}: takes 1 argument (keys), received ${1 + extra}`)
}

/** `keys` of `delete`: one key or an array of keys. */
export function checkDeleteKeys(keys: unknown, extra: number): void {
  if (typeof keys !== 'string' && !Array.isArray(keys)) {
    throw new TypeError(
      `cache.delete: keys must be a string or an array of strings like ['user:1'], received ${describeValue(keys)}`,
    )
  }
  if (extra > 0) throw new TypeError(`cache.delete: takes 1 argument (key or keys), received ${1 + extra}`)
}

/** `tags` of `invalidateTags`. */
export function checkTagList(tags: unknown, extra: number): void {
  if (!Array.isArray(tags)) {
    throw new TypeError(
      `cache.invalidateTags: tags must be an array of strings like ['users'], received ${describeValue(tags)}`,
    )
  }
  if (extra > 0) throw new TypeError(`cache.invalidateTags: takes 1 argument (tags), received ${1 + extra}`)
}
