import { createRequire } from 'node:module'
import { createHashRing, createShardRouter, type ShardRouter } from '@headroom/shard'
import { type BenchGroup, consume, defineSuite, type Measurement } from '../src/suite.js'

/** hashring ships no types: the slice of its API this suite uses. */
interface HashRingPoint {
  value: number
  server: string
}
interface HashRingInstance {
  get(key: string): string
  add(server: string): HashRingInstance
  remove(server: string): HashRingInstance
  ring: HashRingPoint[]
}
const HashRing = createRequire(import.meta.url)('hashring') as new (servers: string[]) => HashRingInstance

const BATCH = 1024
/** More distinct keys than hashring's 5,000-entry LRU, as real user ids are: its lookups really run. */
const WORKING_SET = 16_384
const BALANCE_KEYS = 100_000

const ids = (n: number) => Array.from({ length: n }, (_, i) => `db-${i}`)
const userKeys = (n: number) => Array.from({ length: n }, (_, i) => `user:${(i * 2654435761) % 10_000_019}`)

/** A checksum that depends on every result (so skipping a lookup changes it). */
function fold(acc: number, id: string): number {
  return (Math.imul(acc, 31) + id.charCodeAt(id.length - 1) + id.length * 7) | 0
}

function lookups(get: (key: string) => string, keys: string[]): () => number {
  let offset = 0
  return () => {
    let acc = 0
    const base = offset
    for (let i = 0; i < BATCH; i++) acc = fold(acc, get(keys[(base + i) & (keys.length - 1)]!))
    offset = (offset + BATCH) & (keys.length - 1)
    consume(acc)
    return acc
  }
}

/** busiest / mean over 100 k keys. */
function busiest(get: (key: string) => string, keys: string[], nodes: number): number {
  const counts = new Map<string, number>()
  for (const key of keys) counts.set(get(key), (counts.get(get(key)) ?? 0) + 1)
  return Math.max(...counts.values()) / (keys.length / nodes)
}

function movedFraction(before: string[], after: (key: string) => string, keys: string[]): number {
  let moved = 0
  keys.forEach((key, i) => {
    if (after(key) !== before[i]) moved++
  })
  return moved / keys.length
}

/** hashring's share of the 32-bit key space per server (a key goes to the first point at or after its hash). */
function hashringShareRatio(ring: HashRingInstance, nodes: number): number {
  const points = ring.ring
  const share = new Map<string, number>()
  for (let i = 0; i < points.length; i++) {
    const start = i === 0 ? points[points.length - 1]!.value - 4294967296 : points[i - 1]!.value
    share.set(points[i]!.server, (share.get(points[i]!.server) ?? 0) + (points[i]!.value - start))
  }
  return Math.max(...share.values()) / (4294967296 / nodes)
}

const spec = (id: string) => ({ id, primary: id })

/** Times `change` (after `reset`, untimed) `reps` times. */
function timed(
  reps: number,
  change: (i: number) => void,
  reset: (i: number) => void,
  notes: Measurement['notes'],
) {
  return async (): Promise<Measurement> => {
    const samples: number[] = []
    for (let i = 0; i < reps; i++) {
      const started = performance.now()
      change(i)
      samples.push(performance.now() - started)
      reset(i)
    }
    samples.sort((a, b) => a - b)
    const ms = samples.reduce((a, b) => a + b, 0)
    return {
      ops: reps,
      ms,
      p50: samples[samples.length >> 1],
      p99: samples[Math.min(samples.length - 1, Math.floor(samples.length * 0.99))],
      notes,
    }
  }
}

export default defineSuite({
  name: 'shard',
  setup() {
    const keys = userKeys(WORKING_SET)
    const balanceKeys = userKeys(BALANCE_KEYS)

    // --- lookups at 16 shards ---
    const router16 = createShardRouter({ shards: ids(16).map(spec) })
    const ring16 = createHashRing({ nodes: ids(16) })
    const hashring16 = new HashRing(ids(16))
    const hashringCached = new HashRing(ids(16))
    const cachedKeys = keys.slice(0, 1024)
    const lookupTasks = {
      '@headroom/shard router.shardFor': {
        fn: lookups((key) => router16.shardFor(key).id, keys),
        opsPerCall: BATCH,
      },
      '@headroom/shard hashRing.get': { fn: lookups((key) => ring16.get(key), keys), opsPerCall: BATCH },
      'hashring (npm) get': { fn: lookups((key) => hashring16.get(key), keys), opsPerCall: BATCH },
      'hashring (npm) get, 1 k keys (LRU hits)': {
        fn: lookups((key) => hashringCached.get(key), cachedKeys),
        opsPerCall: BATCH,
      },
    }
    // Expected checksums, computed key by key outside the timed closures.
    const expected = new Map<string, number[]>()
    const sequence = (get: (key: string) => string, set: string[]) => {
      const sums: number[] = []
      for (let round = 0; round < set.length / BATCH; round++) {
        let acc = 0
        for (let i = 0; i < BATCH; i++) acc = fold(acc, get(set[round * BATCH + i]!))
        sums.push(acc)
      }
      return sums
    }
    expected.set(
      '@headroom/shard router.shardFor',
      sequence((k) => router16.shardFor(k).id, keys),
    )
    expected.set(
      '@headroom/shard hashRing.get',
      sequence((k) => ring16.get(k), keys),
    )
    expected.set(
      'hashring (npm) get',
      sequence((k) => new HashRing(ids(16)).get(k), keys),
    )
    expected.set(
      'hashring (npm) get, 1 k keys (LRU hits)',
      sequence((k) => hashring16.get(k), cachedKeys),
    )

    // --- balance and movement at 16 (not timed) ---
    const routerBusiest = busiest((k) => router16.shardFor(k).id, balanceKeys, 16)
    const ringBusiest = busiest((k) => ring16.get(k), balanceKeys, 16)
    const hashringBusiest = busiest((k) => hashring16.get(k), balanceKeys, 16)
    const moved = (() => {
      const r = createShardRouter({ shards: ids(16).map(spec) })
      const rBefore = balanceKeys.map((k) => r.shardFor(k).id)
      r.addShard(spec('db-16'))
      const g = createHashRing({ nodes: ids(16) })
      const gBefore = balanceKeys.map((k) => g.get(k))
      g.add('db-16')
      const h = new HashRing(ids(16))
      const hBefore = balanceKeys.map((k) => h.get(k))
      const h2 = new HashRing(ids(17))
      return {
        router: movedFraction(rBefore, (k) => r.shardFor(k).id, balanceKeys),
        ring: movedFraction(gBefore, (k) => g.get(k), balanceKeys),
        hashring: movedFraction(hBefore, (k) => h2.get(k), balanceKeys),
      }
    })()
    const optimal16 = 1 / 17
    const at16 = (busiestRatio: number, movedFrac: number) => ({
      'busiest/mean (100k keys)': busiestRatio.toFixed(3),
      'moved on add': movedFrac.toFixed(4),
      'moved/optimal': (movedFrac / optimal16).toFixed(3),
    })

    // --- topology change at 16 ---
    const change16 = createShardRouter({ shards: ids(16).map(spec) })
    const ringChange16 = createHashRing({ nodes: ids(16) })
    const hashringChange16 = new HashRing(ids(16))

    // --- 1,000 shards ---
    const router1000: ShardRouter<string> = createShardRouter({ shards: ids(1000).map(spec) })
    const hashring1000 = new HashRing(ids(1000))
    const routerShare1000 = router1000.imbalance().maxRatio
    const hashringShare1000 = hashringShareRatio(hashring1000, 1000)
    const hashringMoved1000 = (() => {
      const sample = balanceKeys.slice(0, 20_000)
      const before = sample.map((k) => hashring1000.get(k))
      const after = new HashRing(ids(1001))
      return movedFraction(before, (k) => after.get(k), sample)
    })()
    let routerMoved1000 = 0

    const groups: BenchGroup[] = [
      {
        name: 'shardFor: string key -> shard, 16 shards',
        baseline: 'hashring (npm) get',
        tasks: lookupTasks,
        check(result, task) {
          if (!expected.get(task)!.includes(result as number))
            throw new Error(`${task} returned checksum ${String(result)}, which matches no batch of its keys`)
        },
        targets: [
          { task: '@headroom/shard router.shardFor', atLeast: 20 },
          { task: '@headroom/shard hashRing.get', atLeast: 20 },
        ],
        notes: [
          `working set ${WORKING_SET} distinct keys (hashring's LRU holds 5,000, so its lookups run); the "LRU hits" row shows hashring when every key is cached`,
          `busiest shard / mean over 100 k keys: router ${routerBusiest.toFixed(3)}, hashRing ${ringBusiest.toFixed(3)}, hashring ${hashringBusiest.toFixed(3)}`,
        ],
      },
      {
        name: 'topology change: add one shard to 16',
        baseline: 'hashring (npm) add',
        tasks: {
          '@headroom/shard router.addShard': {
            measure: timed(
              40,
              (i) => change16.addShard(spec(`new-${i}`)),
              (i) => change16.removeShard(`new-${i}`),
              at16(routerBusiest, moved.router),
            ),
          },
          '@headroom/shard hashRing.add': {
            measure: timed(
              10,
              (i) => ringChange16.add(`new-${i}`),
              (i) => ringChange16.remove(`new-${i}`),
              at16(ringBusiest, moved.ring),
            ),
          },
          'hashring (npm) add': {
            measure: timed(
              10,
              (i) => hashringChange16.add(`new-${i}`),
              (i) => hashringChange16.remove(`new-${i}`),
              at16(hashringBusiest, moved.hashring),
            ),
          },
        },
        notes: [`optimal moved fraction when adding the 17th shard: 1/17 = ${optimal16.toFixed(4)}`],
      },
      {
        name: 'topology change: add one shard to 1,000',
        baseline: 'hashring (npm) add',
        tasks: {
          '@headroom/shard router.addShard': {
            async measure() {
              const m = await timed(
                20,
                (i) => {
                  routerMoved1000 = router1000.addShard(spec(`new-${i}`)).movedFraction
                },
                (i) => router1000.removeShard(`new-${i}`),
                undefined,
              )()
              return {
                ...m,
                notes: {
                  'largest key-space share/mean': routerShare1000.toFixed(4),
                  'moved/optimal': (routerMoved1000 * 1001).toFixed(3),
                  'p50 under 1 ms': m.p50! < 1 ? 'yes' : 'NO',
                },
              }
            },
          },
          'hashring (npm) add': {
            measure: timed(
              2,
              (i) => hashring1000.add(`new-${i}`),
              (i) => hashring1000.remove(`new-${i}`),
              {
                'largest key-space share/mean': hashringShare1000.toFixed(4),
                'moved/optimal': (hashringMoved1000 * 1001).toFixed(3),
              },
            ),
          },
        },
        targets: [{ task: '@headroom/shard router.addShard', atLeast: 1 }],
        notes: [
          'issue bound: adding one shard at N = 1,000 under 1 ms (see p50), largest key-space share <= 1.02 x mean',
        ],
      },
    ]
    return groups
  },
})
