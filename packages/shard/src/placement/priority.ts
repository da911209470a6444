// The fixed pseudo-random order of logical shards. A shard gives away its
// highest-priority logical shards first, so every list is kept in this order.
import { fmix32 } from '@headroom/core'
import { pairScore } from '../shared/mix.js'

/** Priority tables are pure functions of (size, seed): share them between placements. */
const priorityCache = new Map<string, Uint32Array>()

/** The priority of every logical shard for (size, seed), built once per pair. */
export function priorityTable(logicalShards: number, seed: number): Uint32Array {
  const key = `${logicalShards}:${seed}`
  let table = priorityCache.get(key)
  if (!table) {
    table = new Uint32Array(logicalShards)
    const prioritySeed = fmix32((seed ^ 0x5bd1e995) >>> 0)
    for (let b = 0; b < logicalShards; b++) table[b] = pairScore(b, prioritySeed)
    if (priorityCache.size >= 8) priorityCache.delete(priorityCache.keys().next().value!)
    priorityCache.set(key, table)
  }
  return table
}

/** Sorts logical shards by priority (ascending): LSD radix sort, 4 passes of 8 bits, O(n). */
export function sortByPriority(items: ArrayLike<number>, priority: Uint32Array): Uint32Array {
  const n = items.length
  let src = Uint32Array.from(items)
  if (n < 48) {
    for (let i = 1; i < n; i++) {
      const b = src[i]!
      const p = priority[b]!
      let j = i - 1
      while (j >= 0 && priority[src[j]!]! > p) {
        src[j + 1] = src[j]!
        j--
      }
      src[j + 1] = b
    }
    return src
  }
  let dst = new Uint32Array(n)
  const count = new Int32Array(256)
  for (let shift = 0; shift < 32; shift += 8) {
    count.fill(0)
    for (let i = 0; i < n; i++) count[(priority[src[i]!]! >>> shift) & 255]!++
    let sum = 0
    for (let d = 0; d < 256; d++) {
      const c = count[d]!
      count[d] = sum
      sum += c
    }
    for (let i = 0; i < n; i++) {
      const b = src[i]!
      dst[count[(priority[b]! >>> shift) & 255]!++] = b
    }
    const t = src
    src = dst
    dst = t
  }
  return src
}

/** Merges two priority-sorted lists into a new one. */
export function mergeByPriority(a: Uint32Array, b: Uint32Array, priority: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length + b.length)
  let i = 0
  let j = 0
  let k = 0
  while (i < a.length && j < b.length) {
    out[k++] = priority[a[i]!]! < priority[b[j]!]! ? a[i++]! : b[j++]!
  }
  while (i < a.length) out[k++] = a[i++]!
  while (j < b.length) out[k++] = b[j++]!
  return out
}
