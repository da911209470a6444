import { createAdaptiveLimiter } from '@headroom/pool'
import { bulkhead } from 'cockatiel'
import PQueue from 'p-queue'
import pg from 'pg'
import { runAdaptive, runStatic } from '../pool-eval/scenarios.js'
import { createEvalDatabase, type EvalDatabase } from '../pool-eval/workload.js'
import { type BenchGroup, consume, defineSuite, type Measurement } from '../src/suite.js'

const CALLS = 1024
const LIMIT = 64
const SWEEP = [2, 4, 6, 8, 12, 16, 24]

let db: EvalDatabase | undefined

/** Sum of the hot rows' counters: each transaction adds 2, so it proves the work was done. */
async function counterSum(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ s: string }>('SELECT coalesce(sum(n), 0)::text AS s FROM hot')
    return Number(rows[0]!.s)
  } finally {
    await client.end()
  }
}

/** Runs `work`, then checks the database did 2 updates per reported transaction. */
async function checked(
  url: string,
  work: () => Promise<Measurement & { errors: number }>,
): Promise<Measurement> {
  const before = await counterSum(url)
  const result = await work()
  const after = await counterSum(url)
  if (result.errors > 0) throw new Error(`${result.errors} transactions failed`)
  if (after - before < 2 * result.ops)
    throw new Error(`the database saw ${(after - before) / 2} transactions, the run reported ${result.ops}`)
  return { ops: result.ops, ms: result.ms, p50: result.p50, p99: result.p99, notes: result.notes }
}

export default defineSuite({
  name: 'pool',
  requires: ['postgres'],
  async setup(): Promise<BenchGroup[]> {
    const values = Array.from({ length: CALLS }, (_, i) => i)
    const expected = values.reduce((a, b) => a + b, 0)
    const task = (i: number) => async () => i
    const tasks = values.map(task)
    const sumOf = (run: (fn: () => Promise<number>) => Promise<number>) => async () => {
      const results = await Promise.all(tasks.map((fn) => run(fn)))
      let sum = 0
      for (const value of results) sum += value
      consume(sum)
      return sum
    }
    const fixed = createAdaptiveLimiter({
      algorithm: 'aimd',
      min: LIMIT,
      max: LIMIT,
      initial: LIMIT,
      maxQueue: CALLS,
      // Like p-queue and the bulkhead: no wait bound (a GC pause on a busy host must not shed).
      maxWaitMs: Number.POSITIVE_INFINITY,
    })
    const adaptive = createAdaptiveLimiter({
      algorithm: 'gradient2',
      min: 16,
      max: LIMIT,
      initial: LIMIT,
      maxQueue: CALLS,
      maxWaitMs: Number.POSITIVE_INFINITY,
    })
    // The default algorithm, no-load probe included.
    const byDefault = createAdaptiveLimiter({
      min: 16,
      max: LIMIT,
      initial: LIMIT,
      maxQueue: CALLS,
      maxWaitMs: Number.POSITIVE_INFINITY,
    })
    const queue = new PQueue({ concurrency: LIMIT })
    const bulk = bulkhead(LIMIT, CALLS)

    db = await createEvalDatabase()
    const url = db.url
    // A short sweep picks the best static size for this run's machine load.
    let best = { size: SWEEP[0]!, opsPerSec: 0 }
    for (const size of SWEEP) {
      const point = await runStatic(url, size, 2000)
      if (point.opsPerSec > best.opsPerSec) best = point
    }

    return [
      {
        name: `${CALLS} concurrent calls through a concurrency limit of ${LIMIT}`,
        baseline: 'p-queue (concurrency 64)',
        tasks: {
          '@headroom/pool limiter (fixed 64)': { fn: sumOf((fn) => fixed.run(fn)), opsPerCall: CALLS },
          '@headroom/pool limiter (Gradient2 16..64)': {
            fn: sumOf((fn) => adaptive.run(fn)),
            opsPerCall: CALLS,
          },
          '@headroom/pool limiter (MinRTT 16..64)': {
            fn: sumOf((fn) => byDefault.run(fn)),
            opsPerCall: CALLS,
          },
          'p-queue (concurrency 64)': {
            fn: sumOf((fn) => queue.add(fn) as Promise<number>),
            opsPerCall: CALLS,
          },
          'cockatiel bulkhead(64)': { fn: sumOf((fn) => bulk.execute(fn)), opsPerCall: CALLS },
        },
        check(result, name) {
          if (result !== expected) throw new Error(`${name} returned ${String(result)}, expected ${expected}`)
        },
        targets: [{ task: '@headroom/pool limiter (fixed 64)', atLeast: 1 }],
        notes: [
          'Per-call overhead of admission and release; the work itself is an already-resolved async function.',
        ],
      },
      {
        name: 'Contended Postgres transactions (lock convoy on 4 hot rows), 48 callers',
        baseline: `pg.Pool, best static size (${best.size})`,
        tasks: {
          [`pg.Pool, best static size (${best.size})`]: {
            measure: () => checked(url, () => runStatic(url, best.size, 4000)),
          },
          'pg.Pool + createPoolSizer (Vegas), started at 32': {
            measure: () =>
              checked(url, async () => {
                const run = await runAdaptive(url, {
                  initial: 32,
                  algorithm: 'vegas',
                  settleMs: 8000,
                  measureMs: 4000,
                })
                const final = run.sizes.at(-1)?.size ?? 0
                return { ...run.steady, notes: { 'final size': final } }
              }),
          },
        },
        targets: [{ task: 'pg.Pool + createPoolSizer (Vegas), started at 32', atLeast: 0.95 }],
        notes: [
          `Best static size from a ${SWEEP.join('/')} sweep of 2 s each in setup. The adaptive run starts at 32 connections, is left 8 s to converge, then measured for 4 s; p50/p99 are end to end (pool wait + transaction).`,
          'Full evaluation (sweep, both bad starts, 2x overload, plots): cd benchmarks && npx tsx pool-eval/run.ts',
        ],
      },
    ]
  },
  async teardown() {
    await new Promise((resolve) => setTimeout(resolve, 200))
    await db?.close()
    db = undefined
  },
})
