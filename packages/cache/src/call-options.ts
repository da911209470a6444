// Checks of the per-call arguments of the public methods. They run before anything is
// changed and cost a typeof and a short key loop: no schema library on a request path.

import { describeValue } from '@headroom/core'
import { assertTags, assertTtl } from './entry.js'

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
