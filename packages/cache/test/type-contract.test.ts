import { deserialize, serialize } from 'node:v8'
import { describeRedis } from '@headroom/testing'
import { afterEach, expect, it } from 'vitest'
import { type Cache, type CacheOptions, createCache } from '../src/index.js'

/** v8's structured clone as a serializer: Dates, Maps, Sets, BigInts, typed arrays survive. */
const v8Serializer = {
  serialize: (value: unknown) => serialize(value).toString('base64'),
  deserialize: (text: string) => deserialize(Buffer.from(text, 'base64')),
}

const rich = () => ({
  at: new Date(Date.UTC(2026, 11, 5, 3, 0, 0)),
  seen: new Map([['leo', 1]]),
  list: [1, 'two', null],
})

// What get returns must not depend on which tier answered: A's L1 (it wrote the value),
// or B's L2 read (B never saw the value before).
describeRedis('one type contract for L1 and L2', (target) => {
  const caches: Cache[] = []
  const redis = target.client({ enableAutoPipelining: true })
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((cache) => cache.close()))
  })
  async function pair(options: Partial<CacheOptions> = {}) {
    const prefix = target.prefix('types')
    const make = async () => {
      const cache = createCache({ redis, prefix, commandTimeout: 1_000, ...options })
      caches.push(cache)
      await cache.ready
      return cache
    }
    return [await make(), await make()] as const
  }

  it('default (JSON): a Date comes back as the same ISO string from both tiers, a Map as {}', async () => {
    const [a, b] = await pair()
    await a.set('set', rich())
    const fromL1 = await a.get('set')
    const fromL2 = await b.get('set')
    expect(b.stats().l2.hits).toBe(1)
    const expected = { at: '2026-12-05T03:00:00.000Z', seen: {}, list: [1, 'two', null] }
    expect(fromL1).toStrictEqual(expected)
    expect(fromL2).toStrictEqual(expected)
    // getOrSet too: the caller that ran the factory, an L1 hit, and another instance.
    const computed = await a.getOrSet('computed', rich)
    expect(computed).toStrictEqual(expected)
    expect(await a.getOrSet('computed', rich)).toStrictEqual(expected)
    expect(await b.getOrSet('computed', rich)).toStrictEqual(expected)
  })

  it('a v8 serializer: Date and Map intact from both tiers', async () => {
    const [a, b] = await pair({ serializer: v8Serializer })
    await a.set('set', rich())
    const fromL1 = await a.get<ReturnType<typeof rich>>('set')
    const fromL2 = await b.get<ReturnType<typeof rich>>('set')
    expect(b.stats().l2.hits).toBe(1)
    expect(fromL1).toStrictEqual(rich())
    expect(fromL2).toStrictEqual(rich())
    expect(fromL2?.at).toBeInstanceOf(Date)
    expect(fromL2?.seen).toBeInstanceOf(Map)
    expect(await a.getOrSet('computed', rich)).toStrictEqual(rich())
    expect(await b.getOrSet('computed', rich)).toStrictEqual(rich())
    expect(await b.getMany(['set', 'computed', 'none'])).toStrictEqual([rich(), rich(), undefined])
  })

  it('L1 holds a copy: mutating the object passed to set changes nothing cached', async () => {
    const [a] = await pair()
    const value = { n: 1 }
    await a.set('k', value)
    value.n = 2
    expect(await a.get('k')).toStrictEqual({ n: 1 })
  })
})

it('without Redis the contract is the same (a Date reads back as its JSON string)', async () => {
  const cache = createCache({ prefix: 'types-l1' })
  await cache.set('k', { at: new Date(0) })
  expect(await cache.get('k')).toStrictEqual({ at: '1970-01-01T00:00:00.000Z' })
  await cache.close()
})

it('refuses a serializer without serialize/deserialize functions', () => {
  expect(() => createCache({ prefix: 'p', serializer: { serialize: JSON.stringify } as never })).toThrow(
    /Invalid createCache option "serializer"/,
  )
})
