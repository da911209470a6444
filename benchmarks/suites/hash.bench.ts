import { murmur3 } from '@headroom/core'
import murmurhash from 'murmurhash'
import { consume, defineSuite } from '../src/suite.js'

const KEYS = 1024
const BATCH = 1024

/** Keys shaped like the ones Headroom hashes: user ids, cache keys, shard keys. */
function makeKeys(): string[] {
  const keys: string[] = []
  for (let i = 0; i < KEYS; i++) keys.push(`user:${(i * 2654435761) % 1_000_003}:profile`)
  return keys
}

export default defineSuite({
  name: 'hash',
  setup() {
    const keys = makeKeys()
    // Both compute MurmurHash3 x86_32: the results must match key for key.
    const expected = keys.map((key) => murmurhash.v3(key, 0))
    const sumOf = (hash: (key: string) => number) => () => {
      let sum = 0
      for (let i = 0; i < BATCH; i++) sum = (sum + hash(keys[i & (KEYS - 1)]!)) >>> 0
      consume(sum)
      return sum
    }
    const expectedSum = expected.reduce((a, b) => (a + b) >>> 0, 0)
    return [
      {
        name: 'murmur3 x86_32 of a ~20-byte ASCII key',
        baseline: 'murmurhash (npm) v3',
        tasks: {
          '@headroom/core murmur3': { fn: sumOf((key) => murmur3(key)), opsPerCall: BATCH },
          'murmurhash (npm) v3': { fn: sumOf((key) => murmurhash.v3(key, 0)), opsPerCall: BATCH },
        },
        check(result, task) {
          if (result !== expectedSum)
            throw new Error(`${task} returned ${String(result)}, expected ${expectedSum}`)
        },
        targets: [{ task: '@headroom/core murmur3', atLeast: 1 }],
      },
    ]
  },
})
