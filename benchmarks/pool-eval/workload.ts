import { createLatencyHistogram, type LatencySummary } from '@headroom/core'
import { createTestDatabase, type TestDatabase } from '@headroom/testing'
import pg from 'pg'

/**
 * The contended workload: each transaction does some work that parallelises (an
 * I/O-like wait, off any lock), then updates two "hot" rows in key order with a short
 * wait between, the classic lock convoy: while it waits for its second row it holds the
 * first, so past a certain concurrency more connections lengthen every lock hold and
 * throughput falls (data-contention thrashing), on top of the CPU the extra backends burn.
 */
export interface WorkloadShape {
  /** Hot rows the transactions update. */
  hotRows: number
  /** Parallel (off-lock) part, seconds. */
  parallelS: number
  /** Wait while holding the first row lock, seconds. */
  lockedS: number
}

export const DEFAULT_SHAPE: WorkloadShape = { hotRows: 4, parallelS: 0.004, lockedS: 0.002 }

export interface EvalDatabase {
  db: TestDatabase
  url: string
  close(): Promise<void>
}

export async function createEvalDatabase(shape: WorkloadShape = DEFAULT_SHAPE): Promise<EvalDatabase> {
  const db = await createTestDatabase('pooleval')
  const admin = new pg.Client({ connectionString: db.url })
  await admin.connect()
  try {
    await admin.query('CREATE TABLE hot (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0)')
    await admin.query(`INSERT INTO hot (id) SELECT generate_series(1, ${shape.hotRows})`)
  } finally {
    await admin.end()
  }
  return { db, url: db.url, close: () => db.drop() }
}

/** One transaction as one simple-protocol round trip (an implicit transaction): two hot rows, in key order. */
export function transactionSql(shape: WorkloadShape, random: () => number): string {
  const a = 1 + Math.floor(random() * shape.hotRows)
  let b = 1 + Math.floor(random() * (shape.hotRows - 1))
  if (b >= a) b++
  const [first, second] = a < b ? [a, b] : [b, a]
  return (
    `SELECT pg_sleep(${shape.parallelS});` +
    `UPDATE hot SET n = n + 1 WHERE id = ${first};` +
    `SELECT pg_sleep(${shape.lockedS});` +
    `UPDATE hot SET n = n + 1 WHERE id = ${second}`
  )
}

export interface LoadResult {
  ops: number
  errors: number
  rejected: number
  ms: number
  latency: LatencySummary
  /** Throughput and p99 per second of the run. */
  timeline: { t: number; ops: number; p99: number }[]
}

/**
 * A closed loop: `workers` callers, each issuing its next transaction when the last
 * completes. Latency is end to end (pool wait + query), as a user sees it.
 */
export async function closedLoop(
  run: (sql: string) => Promise<unknown>,
  options: { workers: number; durationMs: number; shape?: WorkloadShape; onTick?: (t: number) => void },
): Promise<LoadResult> {
  const shape = options.shape ?? DEFAULT_SHAPE
  const latency = createLatencyHistogram()
  let second = createLatencyHistogram()
  const timeline: LoadResult['timeline'] = []
  let ops = 0
  let errors = 0
  const start = performance.now()
  const end = start + options.durationMs
  let nextTick = start + 1000
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now()
      try {
        await run(transactionSql(shape, Math.random))
        const ms = performance.now() - t0
        latency.record(ms)
        second.record(ms)
        ops++
      } catch {
        errors++
      }
      const t = performance.now()
      if (t >= nextTick) {
        timeline.push({
          t: Math.round(nextTick - start) / 1000,
          ops: second.count,
          p99: second.quantile(0.99),
        })
        options.onTick?.(nextTick - start)
        second = createLatencyHistogram()
        nextTick += 1000
      }
    }
  }
  await Promise.all(Array.from({ length: options.workers }, worker))
  return { ops, errors, rejected: 0, ms: performance.now() - start, latency: latency.summary(), timeline }
}
