const C1 = 0xcc9e2d51
const C2 = 0x1b873593

function mixBlock(h: number, block: number): number {
  let k = Math.imul(block, C1)
  k = (k << 15) | (k >>> 17)
  h ^= Math.imul(k, C2)
  h = (h << 13) | (h >>> 19)
  return (Math.imul(h, 5) + 0xe6546b64) | 0
}

/**
 * MurmurHash3 (x86, 32-bit) of a string's UTF-8 bytes, computed straight from the
 * UTF-16 code units: no `Buffer`, no `TextEncoder`, nothing allocated per call.
 * Lone surrogates hash as U+FFFD, as `TextEncoder` would encode them.
 * Returns an unsigned 32-bit integer; equal to the reference implementation on the
 * same bytes and seed.
 *
 * @example
 * murmur3('user:42') // the same number in every process, forever
 */
export function murmur3(key: string, seed = 0): number {
  let h = seed | 0
  let block = 0
  let filled = 0
  let length = 0
  const n = key.length

  let i = 0
  while (i < n) {
    // Fast path: four ASCII characters are exactly one 4-byte block.
    if (filled === 0 && i + 4 <= n) {
      const c0 = key.charCodeAt(i)
      const c1 = key.charCodeAt(i + 1)
      const c2 = key.charCodeAt(i + 2)
      const c3 = key.charCodeAt(i + 3)
      if ((c0 | c1 | c2 | c3) < 0x80) {
        h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24))
        length += 4
        i += 4
        continue
      }
    }

    let code = key.charCodeAt(i++)
    let encoded: number
    let bytes: number
    if (code < 0x80) {
      encoded = code
      bytes = 1
    } else if (code < 0x800) {
      encoded = 0xc0 | (code >> 6) | ((0x80 | (code & 0x3f)) << 8)
      bytes = 2
    } else {
      if (code >= 0xd800 && code <= 0xdfff) {
        const next = i < n ? key.charCodeAt(i) : 0
        if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00)
          i++
        } else {
          code = 0xfffd
        }
      }
      if (code < 0x10000) {
        encoded = 0xe0 | (code >> 12) | ((0x80 | ((code >> 6) & 0x3f)) << 8) | ((0x80 | (code & 0x3f)) << 16)
        bytes = 3
      } else {
        encoded =
          0xf0 |
          (code >> 18) |
          ((0x80 | ((code >> 12) & 0x3f)) << 8) |
          ((0x80 | ((code >> 6) & 0x3f)) << 16) |
          ((0x80 | (code & 0x3f)) << 24)
        bytes = 4
      }
    }

    length += bytes
    for (let b = 0; b < bytes; b++) {
      block |= ((encoded >>> (b << 3)) & 0xff) << (filled << 3)
      if (++filled === 4) {
        h = mixBlock(h, block)
        block = 0
        filled = 0
      }
    }
  }

  if (filled > 0) {
    let k = Math.imul(block, C1)
    k = (k << 15) | (k >>> 17)
    h ^= Math.imul(k, C2)
  }

  return fmix32(h ^ length)
}

/**
 * MurmurHash3's 32-bit finaliser: a bijection with full avalanche, for mixing an
 * integer (a logical shard number, a seed) into a well-spread 32-bit value.
 */
export function fmix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * Maps a 32-bit hash onto `[0, buckets)` without modulo bias worth noticing
 * (Lemire's multiply-shift), for picking a logical shard or a slot.
 */
export function hashToBucket(hash: number, buckets: number): number {
  return Math.floor(((hash >>> 0) * buckets) / 4294967296)
}
