import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { type Cache, createCache } from '@headroom/cache'
import { createManualClock } from '@headroom/core'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { redisDriver } from 'bentocache/drivers/redis'
import { Redis } from 'ioredis'
import { LRUCache } from 'lru-cache'
import { type BenchGroup, consume, defineSuite, type Measurement } from '../src/suite.js'

/** L1-hit keys, all resident in every contender's memory tier. */
const HOT_KEYS = 1024
/** Awaited calls per timed call (amortises the harness' own per-call cost). */
const BATCH = 256
/** L2-hit concurrency and keyspace: 16 batches of 64 keys cycle through an L1 of 64. */
const CONCURRENCY = 64
const L2_KEYS = CONCURRENCY * 16

/** A value shaped like an API payload (~250 bytes of JSON). */
function valueFor(i: number) {
  return {
    id: i,
    name: `user-${i}`,
    email: `user-${i}@example.com`,
    tier: i % 3 === 0 ? 'premium' : 'free',
    tags: ['astro', 'daily', `sign-${i % 12}`],
    profile: { bio: 'Reads the stars for a living.', score: i * 7, active: true },
  }
}

const sumIds = (values: readonly unknown[]) => {
  let sum = 0
  for (const value of values) sum += (value as { id: number }).id
  return sum
}

const resources: (() => Promise<unknown> | unknown)[] = []

/** The TTL wave: keys with a Zipf popularity, all loaded at t = 0 with a 10 s TTL. */
const WAVE_KEYS = 2000
const WAVE_TTL_MS = 10_000
/** Simulated traffic: 5,000 reads a second for 30 s, in 10 ms steps of the manual clock. */
const WAVE_STEP_MS = 10
const WAVE_READS_PER_STEP = 50
const WAVE_SECONDS = 30

/** A Zipf(1) sequence of key indexes, generated once so both contenders read the same keys. */
function zipfSequence(keys: number, length: number): Uint16Array {
  const cumulative = new Float64Array(keys)
  let total = 0
  for (let i = 0; i < keys; i++) {
    total += 1 / (i + 1)
    cumulative[i] = total
  }
  let seed = 42
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff
    return seed / 0x80000000
  }
  const out = new Uint16Array(length)
  for (let n = 0; n < length; n++) {
    const target = random() * total
    let lo = 0
    let hi = keys - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cumulative[mid]! < target) lo = mid + 1
      else hi = mid
    }
    out[n] = lo
  }
  return out
}

/**
 * Reads the Zipf sequence through getOrSet on a manual clock (so the TTL wave arrives at the
 * same read for both contenders) and reports the hit rate in the 3 s around the wave and
 * over everything after it.
 */
async function ttlWave(sequence: Uint16Array, keys: string[], prefetch: boolean): Promise<Measurement> {
  const clock = createManualClock(0)
  const cache = createCache({
    prefix: 'bench:wave',
    clock,
    ttl: WAVE_TTL_MS,
    l1: { max: 10_000 },
    ...(prefetch ? { prefetch: { idle: () => true, keys: 500, maxPerTick: 250, maxCandidates: 2000 } } : {}),
  })
  let factoryCalls = 0
  const factory = (i: number) => async () => {
    factoryCalls++
    return valueFor(i)
  }
  for (let i = 0; i < keys.length; i++) await cache.getOrSet(keys[i]!, factory(i))
  const started = performance.now()
  let read = 0
  let checksum = 0
  let wave = { reads: 0, misses: 0 }
  let after = { reads: 0, misses: 0 }
  const steps = (WAVE_SECONDS * 1000) / WAVE_STEP_MS
  for (let step = 0; step < steps; step++) {
    const before = cache.stats().misses
    for (let r = 0; r < WAVE_READS_PER_STEP; r++) {
      const i = sequence[read++]!
      checksum += ((await cache.getOrSet(keys[i]!, factory(i))) as { id: number }).id - i
    }
    const misses = cache.stats().misses - before
    const at = clock.now()
    // The wave: entries written at 0 expire between 9 s and 10 s (10 % jitter).
    if (at >= 8_500 && at < 11_500) {
      wave = { reads: wave.reads + WAVE_READS_PER_STEP, misses: wave.misses + misses }
    }
    if (at >= 8_500) after = { reads: after.reads + WAVE_READS_PER_STEP, misses: after.misses + misses }
    clock.advance(WAVE_STEP_MS)
    // Background refreshes a prefetch tick started finish before the next step.
    await new Promise((resolve) => setImmediate(resolve))
  }
  const ms = performance.now() - started
  const stats = cache.stats()
  await cache.close()
  if (checksum !== 0) throw new Error('ttl wave: a read returned the wrong value')
  const percent = (part: { reads: number; misses: number }) =>
    `${(100 * (1 - part.misses / part.reads)).toFixed(1)} %`
  return {
    ops: read,
    ms,
    notes: {
      'hit rate in the wave (8.5-11.5 s)': percent(wave),
      'hit rate from 8.5 s on': percent(after),
      'factory calls': factoryCalls,
      prefetches: stats.prefetches,
    },
  }
}

/** A collectable `gc()` without --expose-gc, to read the heap a shed gives back. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

const SHED_ENTRIES = 100_000

/**
 * Fills L1 with ~1 KB values, then raises the pressure signal: with `memoryPressure` the
 * cache sheds on its own ticks (manual clock) until the signal drops; reports the heap given
 * back and the longest tick, against the same cache without the option.
 */
async function shedUnderPressure(mode: 'option' | 'by hand'): Promise<Measurement> {
  const gc = exposeGc()
  const clock = createManualClock(0)
  let pressure = 0
  const cache = createCache({
    prefix: 'bench:shed',
    clock,
    l1: { max: SHED_ENTRIES },
    ttl: 3_600_000,
    ...(mode === 'option'
      ? { memoryPressure: { signal: () => pressure, threshold: 0.9, intervalMs: 1000 } }
      : {}),
  })
  const filler = 'x'.repeat(1000)
  for (let i = 0; i < SHED_ENTRIES; i++) await cache.set(`shed:${i}`, { i, filler: `${filler}${i}` })
  gc()
  const full = process.memoryUsage().heapUsed
  // Pressure lasts until L1 is down to a third (what a real RSS reading would show as the
  // heap shrinks), for at most 60 ticks.
  pressure = 0.95
  let ticks = 0
  let longest = 0
  const started = performance.now()
  while (ticks < 60 && cache.stats().l1.size > SHED_ENTRIES / 3) {
    const t0 = performance.now()
    clock.advance(1000)
    // What an app wires by hand: the health monitor's memoryPressure event calls shrink().
    if (mode === 'by hand' && pressure >= 0.9) cache.shrink(0.1)
    longest = Math.max(longest, performance.now() - t0)
    ticks++
  }
  const ms = performance.now() - started
  pressure = 0
  gc()
  const freed = full - process.memoryUsage().heapUsed
  const left = cache.stats().l1.size
  const shedCount = cache.stats().l1.shed
  await cache.close()
  if (shedCount === 0) throw new Error('shed under pressure: nothing was shed')
  return {
    ops: shedCount,
    ms: Math.max(ms, 0.001),
    notes: {
      'L1 entries left': left,
      'heap given back': `${(freed / 2 ** 20).toFixed(0)} MB`,
      ticks,
      'longest tick': `${longest.toFixed(1)} ms`,
    },
  }
}

export default defineSuite({
  name: 'cache',
  requires: ['redis'],
  async setup(): Promise<BenchGroup[]> {
    const prefix = `bench:cache:${process.pid}`
    const hotKeys = Array.from({ length: HOT_KEYS }, (_, i) => `hot:${i}`)
    const l2Keys = Array.from({ length: L2_KEYS }, (_, i) => `l2:${i}`)
    const hotSum = (offset: number) => {
      let sum = 0
      for (let i = 0; i < BATCH; i++) sum += (offset + i) & (HOT_KEYS - 1)
      return sum
    }

    // --- contenders for the L1 hit -------------------------------------------------
    const l1Only = createCache({ prefix: `${prefix}:l1`, l1: { max: 10_000 }, ttl: 3_600_000 })
    const bentoL1 = new BentoCache({
      default: 'l1',
      stores: { l1: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000, serialize: false })) },
    })
    const lru = new LRUCache<string, object>({ max: 10_000 })
    const lruGet = async (key: string) => lru.get(key)
    for (let i = 0; i < HOT_KEYS; i++) {
      const key = hotKeys[i]!
      await l1Only.set(key, valueFor(i))
      await bentoL1.set({ key, value: valueFor(i), ttl: '1h' })
      lru.set(key, valueFor(i))
    }
    const missing = (): never => {
      throw new Error('the factory ran: the benchmark is not measuring hits')
    }

    let hotOffset = 0
    const hotBatch = (get: (key: string) => Promise<unknown>) => async () => {
      const offset = hotOffset
      hotOffset = (hotOffset + BATCH) & (HOT_KEYS - 1)
      let sum = 0
      for (let i = 0; i < BATCH; i++) {
        const value = (await get(hotKeys[(offset + i) & (HOT_KEYS - 1)]!)) as { id: number }
        sum += value.id
      }
      consume(sum)
      return { sum, expected: hotSum(offset) }
    }

    // --- contenders for the L2 hit -------------------------------------------------
    const redis = new Redis({ enableAutoPipelining: true })
    const bentoRedis = new Redis({ enableAutoPipelining: true })
    redis.on('error', () => {})
    bentoRedis.on('error', () => {})
    // An L1 of 64 entries: each batch of 64 keys was evicted 15 batches ago, so every read
    // is an L1 miss that goes to Redis (and then fills L1, as in production).
    const tiered = createCache({
      redis,
      prefix: `${prefix}:l2`,
      l1: { max: CONCURRENCY },
      ttl: 3_600_000,
      bus: false,
      commandTimeout: 1_000,
    })
    const bentoTiered = new BentoCache({
      default: 'tiered',
      prefix: `${prefix}:bento`,
      stores: {
        tiered: bentostore()
          // Its default (serialising) memory driver: with `serialize: false` bentocache 1.6.1
          // throws on an L1 hit in a two-tier store ("reading 'deserialize'").
          .useL1Layer(memoryDriver({ maxItems: CONCURRENCY }))
          .useL2Layer(redisDriver({ connection: bentoRedis })),
      },
    })
    const rawKey = (key: string) => `${prefix}:raw:${key}`
    for (let i = 0; i < L2_KEYS; i++) {
      const key = l2Keys[i]!
      await tiered.set(key, valueFor(i))
      await bentoTiered.set({ key, value: valueFor(i), ttl: '1h' })
      await redis.set(rawKey(key), JSON.stringify(valueFor(i)), 'PX', 3_600_000)
    }
    let l2Offset = 0
    const l2Batch = (get: (key: string) => Promise<unknown>) => async () => {
      const offset = l2Offset
      l2Offset = (l2Offset + CONCURRENCY) % L2_KEYS
      const pending: Promise<unknown>[] = new Array(CONCURRENCY)
      for (let i = 0; i < CONCURRENCY; i++) pending[i] = get(l2Keys[offset + i]!)
      const values = await Promise.all(pending)
      let expected = 0
      for (let i = 0; i < CONCURRENCY; i++) expected += offset + i
      const sum = sumIds(values)
      consume(sum)
      return { sum, expected }
    }

    resources.push(
      () => l1Only.close(),
      () => tiered.close(),
      () => bentoL1.disconnect(),
      () => bentoTiered.disconnect(),
      async () => {
        const keys = await redis.keys(`*${prefix}*`)
        for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500))
      },
      () => redis.quit(),
      () => bentoRedis.quit().catch(() => {}),
    )

    const checkSum = (result: unknown, task: string) => {
      const { sum, expected } = result as { sum: number; expected: number }
      if (sum !== expected) throw new Error(`${task}: read ids summing to ${sum}, expected ${expected}`)
    }

    const waveKeys = Array.from({ length: WAVE_KEYS }, (_, i) => `content:${i}`)
    const waveSequence = zipfSequence(WAVE_KEYS, ((WAVE_SECONDS * 1000) / WAVE_STEP_MS) * WAVE_READS_PER_STEP)

    const ours = l1Only as Cache
    return [
      {
        name: `awaited L1-hit getOrSet (batches of ${BATCH} sequential awaits, ${HOT_KEYS} keys)`,
        baseline: 'bentocache getOrSet',
        tasks: {
          '@headroom/cache getOrSet': {
            fn: hotBatch((key) => ours.getOrSet(key, missing)),
            opsPerCall: BATCH,
          },
          'bentocache getOrSet': {
            fn: hotBatch((key) => bentoL1.getOrSet({ key, factory: missing, ttl: '1h' })),
            opsPerCall: BATCH,
          },
          'bare lru-cache get behind an awaited async fn': { fn: hotBatch(lruGet), opsPerCall: BATCH },
        },
        check: checkSum,
        targets: [
          { task: '@headroom/cache getOrSet', atLeast: 20 },
          {
            task: '@headroom/cache getOrSet',
            against: 'bare lru-cache get behind an awaited async fn',
            atLeast: 0.5,
          },
        ],
        notes: [
          'Both caches keep L1 values by reference (bentocache memoryDriver serialize: false), TTL 1 h.',
        ],
      },
      {
        name: `L2-hit getOrSet, ${CONCURRENCY} concurrent (L1 of ${CONCURRENCY} cycling over ${L2_KEYS} keys, ~250-byte JSON)`,
        baseline: 'bentocache getOrSet',
        tasks: {
          '@headroom/cache getOrSet': {
            fn: l2Batch((key) => tiered.getOrSet(key, missing)),
            opsPerCall: CONCURRENCY,
            concurrent: true,
          },
          'bentocache getOrSet': {
            fn: l2Batch((key) => bentoTiered.getOrSet({ key, factory: missing, ttl: '1h' })),
            opsPerCall: CONCURRENCY,
            concurrent: true,
          },
          'ioredis GET + JSON.parse': {
            fn: l2Batch((key) => redis.get(rawKey(key)).then((raw) => JSON.parse(raw!))),
            opsPerCall: CONCURRENCY,
            concurrent: true,
          },
        },
        check: checkSum,
        targets: [
          { task: '@headroom/cache getOrSet', atLeast: 1.5 },
          { task: '@headroom/cache getOrSet', against: 'ioredis GET + JSON.parse', atLeast: 0.9 },
        ],
        notes: [
          '@headroom/cache and the raw baseline share one ioredis connection, bentocache has its own; all auto-pipeline. @headroom/cache batches the reads of one tick into one MGET under its command timeout (1 s here: the 50 ms default trips on this overloaded host and would turn hits into factory calls) and failure gate.',
        ],
      },
      {
        name: `hit rate after a TTL wave: prefetch on against off (${WAVE_KEYS} Zipf keys, 10 s TTL, 5 k reads/s simulated)`,
        baseline: 'prefetch off',
        tasks: {
          'prefetch on (idle)': { measure: () => ttlWave(waveSequence, waveKeys, true) },
          'prefetch off': { measure: () => ttlWave(waveSequence, waveKeys, false) },
        },
        notes: [
          'Every key is loaded at t = 0, so the whole keyspace expires between 9 s and 10 s (10 % jitter). The manual clock makes the factory take 0 ms, so XFetch (on by default) never fires: the difference is the prefetcher (keys: 500, maxPerTick: 250, aheadMs 3 s). ops/s is simulation speed (the prefetch ticks included), not a cache figure.',
        ],
      },
      {
        name: `memory pressure: L1 shed on its own (${SHED_ENTRIES / 1000} k entries of ~1 KB)`,
        baseline: 'shrink(0.1) by hand on each pressure tick',
        tasks: {
          'memoryPressure option (threshold 0.9, 10 % per tick, at most 5,000)': {
            measure: () => shedUnderPressure('option'),
          },
          'shrink(0.1) by hand on each pressure tick': { measure: () => shedUnderPressure('by hand') },
        },
        notes: [
          'The signal is held at 0.95 until L1 is down to a third (at most 60 ticks). ops/s is entries shed per second of tick time; "heap given back" is heapUsed after a full GC, full L1 minus after the ticks.',
        ],
      },
    ]
  },
  async teardown() {
    for (const close of resources.splice(0)) await close()
  },
})
