import diagnosticsChannel from 'node:diagnostics_channel'
import { requestPathClusterOptions, requestPathRedisOptions } from '@headroom/core'
import { describeRedis, type PartitionedRedis, startPartitionedRedis, waitUntil } from '@headroom/testing'
import { afterEach, expect, it, vi } from 'vitest'
import { type Cache, type CacheEvents, type CacheOptions, createCache } from '../src/index.js'

const HEAL_MS = 20_000
vi.setConfig({ testTimeout: 60_000 })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// Instance A reaches Redis through TCP proxies the test cuts; B and a fresh C do not.
// Every client uses the options the README recommends for a request path.
describeRedis('auto-recovery: cache writes during a Redis partition', (target) => {
  const clientOptions = target.kind === 'cluster' ? requestPathClusterOptions : requestPathRedisOptions
  const caches: Cache[] = []
  const partitions: PartitionedRedis[] = []
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((cache) => cache.close()))
    await Promise.all(partitions.splice(0).map((partition) => partition.close()))
  })

  async function setup(options: Partial<CacheOptions> = {}) {
    const prefix = target.prefix('recover')
    const partition = await startPartitionedRedis(target.kind, clientOptions)
    partitions.push(partition)
    const make = async (redis: CacheOptions['redis'], extra: Partial<CacheOptions> = {}) => {
      const cache = createCache({ redis, prefix, commandTimeout: 500, jitter: 0, ...extra })
      caches.push(cache)
      await cache.ready
      return cache
    }
    const a = await make(partition.client, options)
    const b = await make(target.client(clientOptions))
    const fresh = () => make(target.client(clientOptions))
    return { partition, a, b, fresh }
  }

  const reads = (caches: Cache[], key: string) => Promise.all(caches.map((cache) => cache.get(key)))

  it('a set on the cut-off instance reaches L2, B and a fresh C once the partition heals', async () => {
    const { partition, a, b, fresh } = await setup()
    const published: unknown[] = []
    const onQueued = (message: unknown) => published.push(message)
    diagnosticsChannel.subscribe('headroom:cache:recovery-queued', onQueued)
    await a.set('profile:1', 'v1')
    expect(await b.get('profile:1')).toBe('v1') // B now holds v1 in its L1
    await partition.cut()
    await a.set('profile:1', 'v2') // resolves: queued for recovery
    diagnosticsChannel.unsubscribe('headroom:cache:recovery-queued', onQueued)
    expect(published).toEqual([{ operation: 'set', key: 'profile:1' }])
    await partition.heal()
    await waitUntil(async () => (await reads([a, b], 'profile:1')).every((v) => v === 'v2'), {
      timeoutMs: HEAL_MS,
      what: 'A and B to read v2 after the heal',
    })
    const c = await fresh()
    expect(await c.get('profile:1')).toBe('v2')
    // The bus of A reconnected and flushed A's L1: A still reads v2 (from L2 now).
    await waitUntil(() => a.stats().bus.reconnects >= 1, { timeoutMs: HEAL_MS, what: 'bus reconnect on A' })
    expect(await reads([a, b, c], 'profile:1')).toEqual(['v2', 'v2', 'v2'])
    expect(a.stats().recovery).toEqual({ pending: 0, queued: 1, replayed: 1, dropped: 0 })
  })

  it('a delete and a tag invalidation on the cut-off instance stay in force everywhere after the heal', async () => {
    const { partition, a, b, fresh } = await setup()
    await b.set('gone:1', 'x')
    await b.set('tagged:1', 'y', { tags: ['t1'] })
    await b.set('kept:1', 'z', { tags: ['t2'] })
    expect(await reads([a, b], 'gone:1')).toEqual(['x', 'x'])
    expect(await reads([a, b], 'tagged:1')).toEqual(['y', 'y'])
    await partition.cut()
    await a.delete('gone:1')
    await a.invalidateTags(['t1'])
    expect(await a.get('gone:1')).toBeUndefined()
    await partition.heal()
    await waitUntil(
      async () =>
        [...(await reads([a, b], 'gone:1')), ...(await reads([a, b], 'tagged:1'))].every(
          (v) => v === undefined,
        ),
      { timeoutMs: HEAL_MS, what: 'the delete and the tag invalidation to reach A and B' },
    )
    const c = await fresh()
    expect(await reads([c], 'gone:1')).toEqual([undefined])
    expect(await reads([c], 'tagged:1')).toEqual([undefined])
    expect(await reads([a, b, c], 'kept:1')).toEqual(['z', 'z', 'z'])
    expect(a.stats().recovery).toMatchObject({ pending: 0, queued: 2, replayed: 2, dropped: 0 })
  })

  it('an entry written in L2 by B after the queued write wins over it', async () => {
    const { partition, a, b, fresh } = await setup()
    const replayed: CacheEvents['recovery-replayed'][] = []
    a.on('recovery-replayed', (event) => replayed.push(event))
    await a.set('k', 'old')
    await partition.cut()
    await a.set('k', 'fromA')
    await sleep(5) // B's write is later by the clock than A's queued one
    await b.set('k', 'fromB')
    await partition.heal()
    await waitUntil(() => replayed.length >= 1, { timeoutMs: HEAL_MS, what: 'the replay' })
    expect(replayed).toEqual([{ operation: 'set', key: 'k', outcome: 'newer-in-l2' }])
    const c = await fresh()
    await waitUntil(async () => (await reads([a, b, c], 'k')).every((v) => v === 'fromB'), {
      timeoutMs: HEAL_MS,
      what: 'every instance to read fromB',
    })
  })

  it('a key deleted by B after the queued write stays deleted', async () => {
    const { partition, a, b, fresh } = await setup()
    const replayed: CacheEvents['recovery-replayed'][] = []
    a.on('recovery-replayed', (event) => replayed.push(event))
    await a.set('k', 'old')
    await partition.cut()
    await a.set('k', 'fromA')
    await sleep(5)
    await b.delete('k') // e.g. B changed the row after A's write and invalidated it
    await partition.heal()
    await waitUntil(() => replayed.length >= 1, { timeoutMs: HEAL_MS, what: 'the replay' })
    expect(replayed).toEqual([{ operation: 'set', key: 'k', outcome: 'absent-in-l2' }])
    const c = await fresh()
    await waitUntil(async () => (await reads([a, b, c], 'k')).every((v) => v === undefined), {
      timeoutMs: HEAL_MS,
      what: 'every instance to miss k',
    })
  })

  it('keeps the latest operation per key, in clock order, and drops the oldest past maxItems', async () => {
    const { partition, a, fresh } = await setup({ recovery: { maxItems: 2 } })
    const dropped: CacheEvents['recovery-dropped'][] = []
    a.on('recovery-dropped', (event) => dropped.push(event))
    for (const [key, value] of [
      ['k1', 'a0'],
      ['k2', 'x0'],
      ['k3', 'y0'],
    ])
      await a.set(key!, value)
    await partition.cut()
    await a.set('k1', 'a')
    await a.set('k2', 'x')
    await a.set('k1', 'b') // replaces k1's queued write; k1 is now the newest
    expect(a.stats().recovery.pending).toBe(2)
    await a.set('k3', 'y') // over the bound: the oldest (k2) goes
    expect(dropped).toEqual([{ operation: 'set', key: 'k2', reason: 'overflow' }])
    await partition.heal()
    await waitUntil(() => a.stats().recovery.pending === 0, { timeoutMs: HEAL_MS, what: 'the replay' })
    const c = await fresh()
    // k2's write was dropped: L2 keeps the value it had.
    expect([await c.get('k1'), await c.get('k2'), await c.get('k3')]).toEqual(['b', 'x0', 'y'])
    expect(a.stats().recovery).toEqual({ pending: 0, queued: 4, replayed: 2, dropped: 1 })
  })

  it("with policy 'throw', a write Redis did not take rejects and nothing is queued", async () => {
    const { partition, a } = await setup({ recovery: { policy: 'throw' } })
    await partition.cut()
    await expect(a.set('k', 'v')).rejects.toThrow()
    await expect(a.delete('k')).rejects.toThrow()
    await expect(a.invalidateTags(['t'])).rejects.toThrow()
    expect(a.stats().recovery).toEqual({ pending: 0, queued: 0, replayed: 0, dropped: 0 })
  })

  it('a write held back by a hung connection and delivered late never overwrites a newer value', async () => {
    const { partition, a, b, fresh } = await setup()
    await a.set('late', 'v1')
    partition.hang() // A's commands go out but get no answer
    await a.set('late', 'v2') // times out (500 ms) and is queued
    await sleep(5)
    await b.set('late', 'v3')
    partition.pass()
    partition.reset() // A reconnects; ioredis re-sends what was never answered
    await waitUntil(() => a.stats().recovery.pending === 0 && a.stats().l2.state === 'closed', {
      timeoutMs: HEAL_MS,
      what: 'A to recover',
    })
    await sleep(500)
    const c = await fresh()
    expect(await c.get('late')).toBe('v3')
    await waitUntil(async () => (await reads([a, b, c], 'late')).every((v) => v === 'v3'), {
      timeoutMs: HEAL_MS,
      what: 'every instance to read v3',
    })
  })
})
