import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { hashToBucket, murmur3 } from '../src/data/hash.js'

/** The reference algorithm over explicit UTF-8 bytes, written the textbook way. */
function referenceMurmur3(bytes: Uint8Array, seed: number): number {
  let h = seed >>> 0
  const blocks = bytes.length >> 2
  for (let i = 0; i < blocks; i++) {
    let k = bytes[i * 4]! | (bytes[i * 4 + 1]! << 8) | (bytes[i * 4 + 2]! << 16) | (bytes[i * 4 + 3]! << 24)
    k = Math.imul(k, 0xcc9e2d51)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, 0x1b873593)
    h ^= k
    h = (h << 13) | (h >>> 19)
    h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }
  let k = 0
  const tail = blocks * 4
  const rest = bytes.length & 3
  if (rest >= 3) k ^= bytes[tail + 2]! << 16
  if (rest >= 2) k ^= bytes[tail + 1]! << 8
  if (rest >= 1) {
    k ^= bytes[tail]!
    k = Math.imul(k, 0xcc9e2d51)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, 0x1b873593)
    h ^= k
  }
  h ^= bytes.length
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

describe('murmur3', () => {
  // Published MurmurHash3_x86_32 vectors (SMHasher verification values as listed on
  // Wikipedia's MurmurHash page and in the reference test suites).
  it.each([
    ['', 0, 0x00000000],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['\0\0\0\0', 0, 0x2362f9de],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['aaa', 0x9747b28c, 0x283e0130],
    ['aa', 0x9747b28c, 0x5d211726],
    ['a', 0x9747b28c, 0x7fa09ea6],
    ['abcd', 0x9747b28c, 0xf0478627],
    ['abc', 0x9747b28c, 0xc84a62dd],
    ['ab', 0x9747b28c, 0x74875592],
    ['Hello, world!', 0x9747b28c, 0x24884cba],
    ['ππππππππ', 0x9747b28c, 0xd58063c1],
    ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
    ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
  ])('murmur3(%j, %d) = %d', (input, seed, expected) => {
    expect(murmur3(input, seed)).toBe(expected)
  })

  it('equals the byte-wise reference on the UTF-8 encoding of any string', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 64 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (s, seed) => {
          expect(murmur3(s, seed)).toBe(referenceMurmur3(new TextEncoder().encode(s), seed))
        },
      ),
      { numRuns: 2_000 },
    )
  })

  it('hashes a lone surrogate as U+FFFD, like TextEncoder', () => {
    expect(murmur3('a\ud800b')).toBe(murmur3('a\ufffdb'))
    expect(murmur3('\udc00')).toBe(murmur3('\ufffd'))
  })

  it('returns an unsigned 32-bit integer', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const h = murmur3(s)
        expect(Number.isInteger(h) && h >= 0 && h <= 0xffffffff).toBe(true)
      }),
    )
  })
})

describe('hashToBucket', () => {
  it('maps the whole 32-bit range onto [0, buckets)', () => {
    expect(hashToBucket(0, 10)).toBe(0)
    expect(hashToBucket(0xffffffff, 10)).toBe(9)
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 100_000 }), (h, n) => {
        const bucket = hashToBucket(h, n)
        expect(bucket >= 0 && bucket < n).toBe(true)
      }),
    )
  })

  it('spreads murmur3 hashes evenly', () => {
    const counts = new Array<number>(16).fill(0)
    for (let i = 0; i < 160_000; i++) counts[hashToBucket(murmur3(`user:${i}`), 16)]!++
    const mean = 10_000
    for (const count of counts) expect(Math.abs(count - mean) / mean).toBeLessThan(0.05)
  })
})
