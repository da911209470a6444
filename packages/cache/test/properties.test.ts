import { createManualClock } from '@headroom/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createCache } from '../src/index.js'
import { createTtlPolicy } from '../src/loading/ttl.js'
import { createCodec } from '../src/tiers/entry.js'

describe('properties', () => {
  it('a jittered TTL is never longer than configured and never below (1 - jitter)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 ** 12 }),
        fc.double({ min: 0, max: 0.9, noNaN: true }),
        fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        (ttl, jitter, draw) => {
          const actual = createTtlPolicy(ttl, {}, jitter, () => draw).ttlFor('k')
          expect(actual).toBeLessThanOrEqual(ttl)
          expect(actual).toBeGreaterThanOrEqual(Math.max(1, Math.floor(ttl * (1 - jitter))))
        },
      ),
    )
  })

  it('the longest matching tier prefix wins', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 8 }), (a, b) => {
        const policy = createTtlPolicy(1, { [a]: 100, [a + b + 'x']: 200 }, 0)
        expect(policy.ttlFor(`${a}${b}x-rest`)).toBe(200)
        expect(policy.ttlFor(`${a}`)).toBe(100)
      }),
    )
  })

  it('every JSON value survives the L2 encoding unchanged', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.option(fc.array(fc.string({ minLength: 1 }), { maxLength: 3 }), { nil: undefined }),
        (value, tags) => {
          const entry = {
            value,
            freshUntil: 1_700_000_000_123,
            staleUntil: 1_700_000_100_000,
            factoryMs: 12,
            writtenAt: 1_699_999_000_000,
            tags,
            writeId: 7,
          }
          const expected = JSON.parse(JSON.stringify(entry))
          const codec = createCodec(undefined)
          const decoded = codec.decode(codec.encode(entry, 'k'))
          expect(decoded).toEqual(expected)
          // L1 holds what L2 gives back.
          expect(entry.value).toEqual(expected.value)
        },
      ),
    )
  })

  it("concurrent getOrSet calls run each distinct key's factory exactly once", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { minLength: 1, maxLength: 60 }),
        async (keys) => {
          const cache = createCache({ prefix: 'p', clock: createManualClock(0), earlyRefresh: 0 })
          const calls = new Map<string, number>()
          const results = await Promise.all(
            keys.map((key) =>
              cache.getOrSet(key, async () => {
                calls.set(key, (calls.get(key) ?? 0) + 1)
                await Promise.resolve()
                return `v-${key}`
              }),
            ),
          )
          expect(results).toEqual(keys.map((key) => `v-${key}`))
          expect([...calls.keys()].sort()).toEqual([...new Set(keys)].sort())
          for (const count of calls.values()) expect(count).toBe(1)
          await cache.close()
        },
      ),
      { numRuns: 50 },
    )
  })

  it('shrink never leaves more than (1 - fraction) of L1', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 200 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (n, f) => {
          const cache = createCache({ prefix: 'p', clock: createManualClock(0) })
          for (let i = 0; i < n; i++) await cache.set(`k${i}`, i)
          const removed = cache.shrink(f)
          expect(removed).toBe(Math.ceil(n * f))
          expect(cache.stats().l1.size).toBe(n - removed)
          await cache.close()
        },
      ),
      { numRuns: 40 },
    )
  })
})
