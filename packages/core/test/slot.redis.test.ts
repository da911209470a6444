import { describeRedis } from '@headroom/testing'
import fc from 'fast-check'
import { expect, it } from 'vitest'
import { keySlot } from '../src/redis/slot.js'

describeRedis(
  'keySlot matches CLUSTER KEYSLOT',
  (target) => {
    it('for hash-tagged, untagged and odd keys', async () => {
      const redis = target.client()
      const keys = fc.sample(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `{p:${s}}:x`),
          fc.string().map((s) => `a{}${s}`),
          fc.string().map((s) => `${s}{${s}`),
          fc.string({ unit: 'grapheme' }),
        ),
        { numRuns: 200, seed: 42 },
      )
      for (const key of keys) expect(keySlot(key), key).toBe(Number(await redis.cluster('KEYSLOT', key)))
    })
  },
  { standalone: false },
)
