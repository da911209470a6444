import { createLatencyHistogram, type LatencySummary } from '@headroom/core'
import {
  createAdaptiveLimiter,
  createPoolSizer,
  isLimitExceededError,
  type LimitAlgorithmSpec,
} from '@headroom/pool'
import pg from 'pg'
import { closedLoop, DEFAULT_SHAPE, type LoadResult, transactionSql, type WorkloadShape } from './workload.js'

/** Callers in the closed loop: far more than any useful pool size, like a busy web tier. */
export const WORKERS = 48

export interface StaticPoint {
  size: number
  opsPerSec: number
  p50: number
  p99: number
  ops: number
  ms: number
  errors: number
}

/** One static pool size under the closed loop: warm-up, then measured. */
export async function runStatic(
  url: string,
  size: number,
  durationMs: number,
  shape: WorkloadShape = DEFAULT_SHAPE,
): Promise<StaticPoint> {
  const pool = new pg.Pool({ connectionString: url, max: size })
  pool.on('error', () => {})
  try {
    await closedLoop((sql) => pool.query(sql), { workers: WORKERS, durationMs: 1000, shape })
    const result = await closedLoop((sql) => pool.query(sql), { workers: WORKERS, durationMs, shape })
    return { size, ...rate(result), ops: result.ops, ms: result.ms, errors: result.errors }
  } finally {
    await pool.end()
  }
}

export function rate(result: LoadResult): { opsPerSec: number; p50: number; p99: number } {
  return {
    opsPerSec: (result.ops / result.ms) * 1000,
    p50: result.latency.p50,
    p99: result.latency.p99,
  }
}

export interface AdaptiveRun {
  initial: number
  algorithm: string
  /** Pool size after each sizing interval, seconds since start. */
  sizes: { t: number; size: number }[]
  /** Whole run. */
  total: LoadResult
  /** The measured steady part (after `settleMs`). */
  steady: { opsPerSec: number; p50: number; p99: number; ops: number; ms: number; errors: number }
}

/**
 * The sizer on a pg.Pool that starts at `initial`: the first `settleMs` are the
 * convergence phase, the rest is measured as steady state.
 */
export async function runAdaptive(
  url: string,
  options: {
    initial: number
    algorithm: LimitAlgorithmSpec
    settleMs: number
    measureMs: number
    max?: number
    shape?: WorkloadShape
  },
): Promise<AdaptiveRun> {
  const shape = options.shape ?? DEFAULT_SHAPE
  const pool = new pg.Pool({ connectionString: url, max: options.initial })
  pool.on('error', () => {})
  const sizer = createPoolSizer({
    target: pool,
    algorithm: options.algorithm,
    min: 1,
    max: options.max ?? 40,
    initial: options.initial,
    // Up to 8 engineers share this Postgres: the eval declares itself one of 2 instances.
    instances: 2,
  })
  const start = performance.now()
  const sizes: { t: number; size: number }[] = [{ t: 0, size: sizer.size }]
  const off = sizer.on('window', ({ size }) => sizes.push({ t: (performance.now() - start) / 1000, size }))
  try {
    const settle = await closedLoop((sql) => pool.query(sql), {
      workers: WORKERS,
      durationMs: options.settleMs,
      shape,
    })
    const steady = await closedLoop((sql) => pool.query(sql), {
      workers: WORKERS,
      durationMs: options.measureMs,
      shape,
    })
    const total = merge(settle, steady)
    const algorithm = typeof options.algorithm === 'string' ? options.algorithm : options.algorithm.name
    return {
      initial: options.initial,
      algorithm,
      sizes,
      total,
      steady: { ...rate(steady), ops: steady.ops, ms: steady.ms, errors: steady.errors },
    }
  } finally {
    off()
    sizer.close()
    await pool.end()
  }
}

function merge(a: LoadResult, b: LoadResult): LoadResult {
  const offset = a.timeline.length
  return {
    ops: a.ops + b.ops,
    errors: a.errors + b.errors,
    rejected: a.rejected + b.rejected,
    ms: a.ms + b.ms,
    latency: b.latency,
    timeline: [...a.timeline, ...b.timeline.map((point) => ({ ...point, t: point.t + offset }))],
  }
}

export interface OverloadRun {
  label: string
  offeredPerSec: number
  completedPerSec: number
  shed: number
  errors: number
  /** p99 of completed work per second of the run. */
  p99BySecond: number[]
  latency: LatencySummary
  /** Work still queued when the arrivals stopped. */
  backlogAtEnd: number
}

/**
 * An open loop at `ratePerSec` arrivals (twice what the database sustains): with a
 * plain pool the queue, and so latency, grows without bound; behind the limiter the
 * excess is shed after a bounded wait.
 */
export async function runOverload(
  url: string,
  options: {
    label: string
    ratePerSec: number
    durationMs: number
    staticSize: number
    limited: boolean
    shape?: WorkloadShape
  },
): Promise<OverloadRun> {
  const shape = options.shape ?? DEFAULT_SHAPE
  const pool = new pg.Pool({ connectionString: url, max: options.staticSize })
  pool.on('error', () => {})
  const sizer = options.limited
    ? createPoolSizer({ target: pool, algorithm: 'vegas', min: 1, max: 40, instances: 2 })
    : undefined
  const limiter = options.limited
    ? createAdaptiveLimiter({
        algorithm: 'gradient2',
        min: 2,
        max: 40,
        initial: options.staticSize,
        maxWaitMs: 250,
        maxQueue: 2000,
      })
    : undefined
  const runQuery = (sql: string) => (limiter ? limiter.run(() => pool.query(sql)) : pool.query(sql))
  const latency = createLatencyHistogram()
  const perSecond: ReturnType<typeof createLatencyHistogram>[] = []
  let completedWhileArriving = 0
  let stopped = false
  let shed = 0
  let errors = 0
  let outstanding = 0
  const start = performance.now()
  const inFlight = new Set<Promise<void>>()
  let issued = 0
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - start
      const due = Math.min(options.durationMs, elapsed) * (options.ratePerSec / 1000)
      while (issued < due) {
        const arrival = start + issued / (options.ratePerSec / 1000)
        issued++
        outstanding++
        const job = runQuery(transactionSql(shape, Math.random)).then(
          () => {
            const ms = performance.now() - arrival
            latency.record(ms)
            const second = Math.floor((arrival - start) / 1000)
            perSecond[second] ??= createLatencyHistogram()
            perSecond[second].record(ms)
            if (!stopped) completedWhileArriving++
          },
          (error: unknown) => {
            if (isLimitExceededError(error)) shed++
            else errors++
          },
        )
        const tracked = job.finally(() => {
          outstanding--
          inFlight.delete(tracked)
        })
        inFlight.add(tracked)
      }
      if (elapsed >= options.durationMs) {
        stopped = true
        clearInterval(timer)
        resolve()
      }
    }, 2)
  })
  const backlogAtEnd = outstanding
  const stoppedAt = performance.now()
  // Let the backlog finish (bounded): the unlimited pool may hold seconds of queued work.
  await Promise.race([Promise.all(inFlight), new Promise((r) => setTimeout(r, 60_000))])
  sizer?.close()
  limiter?.close()
  await pool.end()
  const seconds = Math.floor(options.durationMs / 1000)
  return {
    label: options.label,
    offeredPerSec: options.ratePerSec,
    // Throughput while arrivals lasted: the plain pool's backlog drains afterwards.
    completedPerSec: (completedWhileArriving / (stoppedAt - start)) * 1000,
    shed,
    errors,
    p99BySecond: Array.from({ length: seconds }, (_, i) => perSecond[i]?.quantile(0.99) ?? 0),
    latency: latency.summary(),
    backlogAtEnd,
  }
}
