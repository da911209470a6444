import { afterEach, expect, it } from 'vitest'
import { type Cache, createCache } from '../src/index.js'

const caches: Cache[] = []
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()))
})
function make(): Cache {
  const cache = createCache({ prefix: 'opts' })
  caches.push(cache)
  return cache
}
// The seeds' style: a number where an options object belongs.
const seconds = 3600 as never

it('set refuses a bare number as options, naming the right shape, and stores nothing', async () => {
  const cache = make()
  await expect(cache.set('k', 'v', seconds)).rejects.toThrow(
    new TypeError('cache.set: options must be an object like { ttl: 60_000 }, received 3600'),
  )
  expect(cache.peek('k')).toBeUndefined()
})

it('getOrSet refuses a bare number as options, on a miss and on an L1 hit', async () => {
  const cache = make()
  await expect(cache.getOrSet('k', () => 'v', seconds)).rejects.toThrow(
    new TypeError('cache.getOrSet: options must be an object like { ttl: 60_000 }, received 3600'),
  )
  expect(cache.peek('k')).toBeUndefined()
  await cache.set('k', 'v')
  await expect(cache.getOrSet('k', () => 'v', seconds)).rejects.toThrow(TypeError)
})

it('refuses unknown option keys, naming the key and the known ones', async () => {
  const cache = make()
  await expect(cache.set('k', 'v', { tll: 1000 } as never)).rejects.toThrow(
    'cache.set: unknown option "tll" (known: ttl, tags, grace)',
  )
  await expect(cache.getOrSet('k', () => 1, { ttl: 10, locks: true } as never)).rejects.toThrow(
    'cache.getOrSet: unknown option "locks" (known: ttl, tags, grace, timeout, lock)',
  )
  await expect(cache.getOrSet('k', () => 1, { timeout: { sfot: 5 } } as never)).rejects.toThrow(
    'cache.getOrSet: unknown option "timeout.sfot" (known: soft, hard)',
  )
  await expect(cache.getOrSet('k', () => 1, { timeout: 100 } as never)).rejects.toThrow(
    'cache.getOrSet: option "timeout" must be an object like { soft: 100, hard: 10_000 }, received 100',
  )
  await expect(cache.getOrSet('k', () => 1, { lock: 'yes' } as never)).rejects.toThrow(
    'cache.getOrSet: option "lock" must be a boolean, received "yes"',
  )
  expect(cache.peek('k')).toBeUndefined()
})

it('accepts every documented option', async () => {
  const cache = make()
  await cache.set('a', 1, { ttl: 1000, tags: ['t'], grace: 0 })
  await cache.set('b', 2, undefined)
  expect(
    await cache.getOrSet('c', () => 3, {
      ttl: 1000,
      tags: ['t'],
      grace: 10,
      timeout: { soft: 5, hard: 50 },
      lock: false,
    }),
  ).toBe(3)
  expect(await cache.getMany(['a', 'b', 'c'])).toEqual([1, 2, 3])
})

it('getMany, delete and invalidateTags refuse arguments of the wrong shape', async () => {
  const cache = make()
  await expect(cache.getMany('a' as never)).rejects.toThrow(
    'cache.getMany: keys must be an array of strings like [\'user:1\'], received "a"',
  )
  await expect(cache.delete(42 as never)).rejects.toThrow(
    "cache.delete: keys must be a string or an array of strings like ['user:1'], received 42",
  )
  await expect(cache.invalidateTags('users' as never)).rejects.toThrow(
    'cache.invalidateTags: tags must be an array of strings like [\'users\'], received "users"',
  )
  // Called the way a JavaScript caller (or a cast) can call them.
  const loose = cache as unknown as Record<
    'delete' | 'invalidateTags' | 'getMany',
    (...args: unknown[]) => Promise<unknown>
  >
  await expect(loose.delete('k', { tags: ['x'] })).rejects.toThrow(
    'cache.delete: takes 1 argument (key or keys), received 2',
  )
  await expect(loose.invalidateTags(['t'], 1000)).rejects.toThrow(
    'cache.invalidateTags: takes 1 argument (tags), received 2',
  )
  await expect(loose.getMany(['a'], { ttl: 5 })).rejects.toThrow(
    'cache.getMany: takes 1 argument (keys), received 2',
  )
})

it('getOrSet refuses unknown option keys on an L1 hit too, and still serves known ones', async () => {
  const cache = make()
  await cache.set('k', 'v')
  await expect(cache.getOrSet('k', () => 'x', { tll: 1000 } as never)).rejects.toThrow(
    'cache.getOrSet: unknown option "tll" (known: ttl, tags, grace, timeout, lock)',
  )
  await expect(cache.getOrSet('k', () => 'x', { timeout: { sfot: 5 } } as never)).rejects.toThrow(
    'cache.getOrSet: unknown option "timeout.sfot" (known: soft, hard)',
  )
  expect(await cache.getOrSet('k', () => 'x', { ttl: 1000, timeout: { soft: 5 } })).toBe('v')
})
