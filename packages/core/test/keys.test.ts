import { describe, expect, it } from 'vitest'
import { assertKeyPrefix, hashTaggedKey } from '../src/redis/keys.js'

describe('hashTaggedKey', () => {
  it('puts prefix and id in the hash tag', () => {
    expect(hashTaggedKey('rl', 'user42', 'tat')).toBe('{rl:user42}:tat')
    expect(hashTaggedKey('rl', 'user42')).toBe('{rl:user42}')
  })

  it('refuses prefixes that would break hash tags', () => {
    expect(() => assertKeyPrefix('')).toThrow(/non-empty string/)
    expect(() => assertKeyPrefix('a{b')).toThrow(/may not contain/)
    expect(() => assertKeyPrefix(42, 'cache.prefix')).toThrow(/"cache.prefix"/)
    expect(() => assertKeyPrefix('ok:prefix')).not.toThrow()
  })
})
