import { defineScript, requestPathRedisOptions, runScript } from '@headroom/core'
import { createRateLimiter, type Decision, type RateLimiter } from '@headroom/rate-limit'
import { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible'
import { type BenchGroup, consume, defineSuite } from '../src/suite.js'

const KEYS = 10_000
const CONCURRENCY = 64
const MEMORY_BATCH = 256
/**
 * High enough that nothing is refused (every contender does the full "allowed" path, checked
 * below), low enough that GCRA's emission interval (60 s / POINTS = 0.06 ms) moves the stored
 * state on every decision, as it does for any real limit.
 */
const POINTS = 1_000_000
const keys = Array.from({ length: KEYS }, (_, i) => `user:${(i * 2_654_435_761) % 1_000_003}`)

let cursor = 0
const nextKey = () => keys[cursor++ % KEYS]!

/** The simplest possible one-round-trip limiter: the floor any Redis limiter is measured against. */
const incr = defineScript(
  'bench-incr-pexpire',
  `local v = redis.call('INCR', KEYS[1])
if v == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return v`,
)

const clients: Redis[] = []
const limiters: RateLimiter[] = []

const headroomAll = (limiter: RateLimiter, n: number) => async () => {
  const pending: Promise<Decision>[] = []
  for (let i = 0; i < n; i++) pending.push(limiter.consume(nextKey()))
  const decisions = await Promise.all(pending)
  let allowed = 0
  for (const d of decisions) if (d.allowed && d.source !== 'open' && d.source !== 'local') allowed++
  consume(allowed)
  return allowed
}

const flexibleAll = (limiter: RateLimiterRedis | RateLimiterMemory, n: number) => async () => {
  const pending: Promise<unknown>[] = []
  for (let i = 0; i < n; i++) pending.push(limiter.consume(nextKey()))
  const results = await Promise.all(pending)
  consume(results)
  return results.length
}

export default defineSuite({
  name: 'rate-limit',
  requires: ['redis'],
  async setup(): Promise<BenchGroup[]> {
    const redis = new Redis(requestPathRedisOptions)
    clients.push(redis)
    await redis.ping()
    const prefix = `bench:rl:${process.pid}`
    // A generous timeout: on a busy shared machine a 50 ms miss would turn into an
    // 'open' fallback decision, which the check below refuses to count.
    const gcra = createRateLimiter({
      redis,
      prefix: `${prefix}:gcra`,
      limit: POINTS,
      window: 60_000,
      timeout: 1_000,
    })
    const fixed = createRateLimiter({
      redis,
      prefix: `${prefix}:fixed`,
      algorithm: 'fixed-window',
      limit: POINTS,
      window: 60_000,
      timeout: 1_000,
    })
    const memory = createRateLimiter({ limit: POINTS, window: 60_000 })
    limiters.push(gcra, fixed, memory)
    const flexible = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${prefix}:rlf`,
      points: POINTS,
      duration: 60,
    })
    const flexibleMemory = new RateLimiterMemory({ points: POINTS, duration: 60 })
    const bare = (n: number) => async () => {
      const pending: Promise<number>[] = []
      for (let i = 0; i < n; i++)
        pending.push(runScript<number>(redis, incr, [`${prefix}:bare:${nextKey()}`], [60_000]))
      const results = await Promise.all(pending)
      consume(results)
      return results.length
    }
    const memorySequential = (limiter: RateLimiter) => async () => {
      let allowed = 0
      for (let i = 0; i < MEMORY_BATCH; i++) if ((await limiter.consume(nextKey())).allowed) allowed++
      consume(allowed)
      return allowed
    }
    const flexibleMemorySequential = async () => {
      let done = 0
      for (let i = 0; i < MEMORY_BATCH; i++) {
        await flexibleMemory.consume(nextKey())
        done++
      }
      consume(done)
      return done
    }
    const checkAll = (expected: number) => (result: unknown, task: string) => {
      if (result !== expected)
        throw new Error(`${task} decided ${String(result)} of ${expected} (expected all allowed)`)
    }
    return [
      {
        name: `Redis consume, concurrency ${CONCURRENCY} (10k keys, all allowed)`,
        baseline: 'rate-limiter-flexible RateLimiterRedis',
        tasks: {
          '@headroom/rate-limit gcra': {
            fn: headroomAll(gcra, CONCURRENCY),
            opsPerCall: CONCURRENCY,
            concurrent: true,
          },
          '@headroom/rate-limit fixed-window': {
            fn: headroomAll(fixed, CONCURRENCY),
            opsPerCall: CONCURRENCY,
            concurrent: true,
          },
          'rate-limiter-flexible RateLimiterRedis': {
            fn: flexibleAll(flexible, CONCURRENCY),
            opsPerCall: CONCURRENCY,
            concurrent: true,
          },
          'bare EVALSHA INCR (reference)': {
            fn: bare(CONCURRENCY),
            opsPerCall: CONCURRENCY,
            concurrent: true,
          },
        },
        check: checkAll(CONCURRENCY),
        targets: [{ task: '@headroom/rate-limit gcra', atLeast: 1.5 }],
        notes: [
          'Same ioredis client (auto-pipelining on) for every contender; Headroom coalesces the decisions of one tick into one EVALSHA.',
        ],
      },
      {
        name: 'Redis consume, sequential (one at a time)',
        baseline: 'rate-limiter-flexible RateLimiterRedis',
        tasks: {
          '@headroom/rate-limit gcra': { fn: headroomAll(gcra, 1) },
          'rate-limiter-flexible RateLimiterRedis': { fn: flexibleAll(flexible, 1) },
        },
        check: checkAll(1),
        targets: [{ task: '@headroom/rate-limit gcra', atLeast: 1 }],
      },
      {
        name: `Memory consume, sequential (${MEMORY_BATCH} awaited calls per op batch, 10k keys)`,
        baseline: 'rate-limiter-flexible RateLimiterMemory',
        tasks: {
          '@headroom/rate-limit gcra (memory)': { fn: memorySequential(memory), opsPerCall: MEMORY_BATCH },
          'rate-limiter-flexible RateLimiterMemory': {
            fn: flexibleMemorySequential,
            opsPerCall: MEMORY_BATCH,
          },
        },
        check: checkAll(MEMORY_BATCH),
        targets: [{ task: '@headroom/rate-limit gcra (memory)', atLeast: 1.5 }],
      },
    ]
  },
  async teardown() {
    await Promise.all(limiters.splice(0).map((l) => l.close()))
    for (const client of clients.splice(0)) {
      const stream = client.scanStream({ match: `bench:rl:${process.pid}*`, count: 1000 })
      for await (const batch of stream)
        if ((batch as string[]).length) await client.unlink(...(batch as string[]))
      await client.quit()
    }
  },
})
