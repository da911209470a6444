import { requestPathClusterOptions, requestPathRedisOptions } from '@headroom/core'
import { describeRedis, type PartitionedRedis, startPartitionedRedis, waitUntil } from '@headroom/testing'
import { afterEach, expect, it, vi } from 'vitest'
import { type Cache, type CacheOptions, createCache } from '../src/index.js'

// Bounds for the heal: the gate's cooldown grows to at most 10 s while Redis stays away.
const HEAL_MS = 25_000
vi.setConfig({ testTimeout: 90_000 })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// Instance A serves a steady stream of writes and reads while its path to Redis
// black-holes (a TCP proxy that forwards nothing), then heals: A must write to Redis again.
describeRedis('auto-recovery: a hung partition under traffic', (target) => {
  const clientOptions = target.kind === 'cluster' ? requestPathClusterOptions : requestPathRedisOptions
  const caches: Cache[] = []
  const partitions: PartitionedRedis[] = []
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((cache) => cache.close()))
    await Promise.all(partitions.splice(0).map((partition) => partition.close()))
  })

  async function setup(options: Partial<CacheOptions> = {}) {
    events = []
    const prefix = target.prefix('hungtraffic')
    const partition = await startPartitionedRedis(target.kind, clientOptions)
    partitions.push(partition)
    const make = async (redis: CacheOptions['redis'], extra: Partial<CacheOptions> = {}) => {
      const cache = createCache({ redis, prefix, commandTimeout: 150, jitter: 0, ...extra })
      caches.push(cache)
      await cache.ready
      return cache
    }
    const a = await make(partition.client, options)
    for (const name of ['recovery-queued', 'recovery-replayed', 'recovery-dropped'] as const)
      a.on(name, (event) => events.push(`${name} ${JSON.stringify(event)}`))
    const b = await make(target.client(clientOptions))
    const fresh = () => make(target.client(clientOptions))
    return { partition, a, b, fresh }
  }

  let events: string[] = []
  const KEYS = Array.from({ length: 6 }, (_, i) => `profile:${i}`)

  /** Every profile exists in L2 and in B's L1 before the partition (a replay updates existing entries). */
  async function seed(a: Cache, b: Cache) {
    const latest = new Map<string, string>()
    for (const key of KEYS) {
      await a.set(key, 'v0', { tags: ['owner:1'] })
      latest.set(key, 'v0')
      expect(await b.get(key)).toBe('v0')
    }
    return latest
  }

  /**
   * Three concurrent users edit and read profiles on A until `until()` says stop. Each user
   * edits its own profiles, one edit at a time, so the latest edit of a profile is also the
   * latest by the cache's clock.
   */
  async function traffic(a: Cache, until: () => boolean, latest: Map<string, string>) {
    let n = 0
    const user = async (id: number) => {
      for (let round = 0; !until(); round++) {
        const key = KEYS[id + 3 * (round % 2)]!
        const value = `v${++n}`
        latest.set(key, value)
        // What an edit endpoint does: write the row's entry, invalidate the lists holding it.
        await Promise.all([a.set(key, value, { tags: ['owner:1'] }), a.invalidateTags(['lists:1'])])
        await a.getOrSet('list:1', () => [...latest.values()], { tags: ['lists:1'] })
        await a.get(KEYS[(n * 3 + id) % KEYS.length]!)
        await sleep(40)
      }
    }
    await Promise.all([user(0), user(1), user(2)])
    return n
  }

  async function expectRecovered(
    a: Cache,
    b: Cache,
    fresh: () => Promise<Cache>,
    latest: Map<string, string>,
  ) {
    await waitUntil(() => a.stats().l2.state === 'closed' && a.stats().recovery.pending === 0, {
      timeoutMs: HEAL_MS,
      what: `A's gate to close and its queue to drain (${JSON.stringify(a.stats().l2)} ${JSON.stringify(a.stats().recovery)})`,
    })
    const c = await fresh()
    for (const [key, value] of latest) {
      let seen: unknown[] = []
      await waitUntil(
        async () => {
          seen = [await b.get(key), await c.get(key)]
          return seen.every((v) => v === value)
        },
        { timeoutMs: HEAL_MS, what: `B and C to read ${key} = ${value}` },
      ).catch((error: Error) => {
        throw new Error(
          `${error.message}; B, C read ${JSON.stringify(seen)}; A: ${JSON.stringify(a.stats())} ${JSON.stringify(events.filter((e) => e.includes(`"${key}"`)).slice(-6))}`,
        )
      })
    }
    // A write made after the heal goes to Redis and reaches B (B holds the old value in L1).
    await a.set(KEYS[0]!, 'after-heal')
    await waitUntil(async () => (await b.get(KEYS[0]!)) === 'after-heal', {
      timeoutMs: 2_000,
      what: "A's write after the heal to reach B",
    })
    expect(await c.get(KEYS[0]!)).toBe('after-heal')
  }

  it('recovers after a hung partition with steady writes and reads on A', async () => {
    const { partition, a, b, fresh } = await setup()
    const latest = await seed(a, b)
    let stop = false
    const running = traffic(a, () => stop, latest)
    await sleep(300)
    partition.hang()
    await sleep(6_000)
    stop = true
    const ops = await running
    expect(ops).toBeGreaterThanOrEqual(30)
    expect(a.stats().recovery.pending).toBeGreaterThan(0)
    partition.pass()
    partition.reset()
    await expectRecovered(a, b, fresh, latest)
  })

  it('recovers when traffic goes on across the heal', async () => {
    const { partition, a, b, fresh } = await setup()
    const latest = await seed(a, b)
    let stop = false
    const running = traffic(a, () => stop, latest)
    await sleep(300)
    partition.hang()
    await sleep(6_000)
    partition.pass()
    partition.reset()
    await sleep(3_000)
    stop = true
    expect(await running).toBeGreaterThanOrEqual(30)
    await expectRecovered(a, b, fresh, latest)
  })

  it('recovers when the path hangs again as the replay starts, then heals', async () => {
    const { partition, a, b, fresh } = await setup()
    const latest = await seed(a, b)
    let stop = false
    const running = traffic(a, () => stop, latest)
    await sleep(300)
    partition.hang()
    await sleep(4_000)
    stop = true
    await running
    // The first replayed operation marks the start of the replay: the path hangs again.
    let rehung = false
    a.on('recovery-replayed', () => {
      if (rehung) return
      rehung = true
      partition.hang()
    })
    partition.pass()
    partition.reset()
    await waitUntil(() => rehung, { timeoutMs: HEAL_MS, what: 'the replay to start' })
    await sleep(4_000)
    partition.pass()
    partition.reset()
    await expectRecovered(a, b, fresh, latest)
  })

  it('closes its gate after the heal while A keeps writing faster than one replay drains', async () => {
    const { partition, a, b, fresh } = await setup()
    const latest = await seed(a, b)
    partition.hang()
    for (const key of KEYS) {
      latest.set(key, `hung-${key}`)
      await a.set(key, `hung-${key}`) // times out and is queued
    }
    partition.pass()
    partition.reset()
    // Four writers, each yielding to the event loop between its writes: while the gate is
    // open or probing every write is queued, so they queue as fast as a replay drains.
    let stop = false
    let closedSeen = false
    const writer = async (id: number) => {
      for (let i = 0; !stop; i++) {
        await a.set(`burst:${id}:${i % 500}`, i)
        if (a.stats().l2.state === 'closed') closedSeen = true
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    const writers = Promise.all([0, 1, 2, 3].map(writer))
    await waitUntil(() => closedSeen, { timeoutMs: HEAL_MS, what: "A's gate to close during the writes" })
      .catch((error: Error) => {
        throw new Error(
          `${error.message}: ${JSON.stringify({ l2: a.stats().l2, recovery: a.stats().recovery })}`,
        )
      })
      .finally(() => {
        stop = true
      })
    await writers
    await expectRecovered(a, b, fresh, latest)
  })
})
