// A job as the memory store keeps it (the fields of a Redis job hash, plus its state and
// heap generation), and how it reads back for getJob() and stats().

import { LEVEL_SCORE, levelOf } from '../shared/priority.js'
import type { NewJob, StoreCounts } from '../store/job-store.js'

export interface MemoryJob {
  id: string
  payload: string
  /** Wait score: priority * 2^40 + sequence (as in Redis). */
  w: number
  rt: number
  a: number
  s: number
  k: string | undefined
  /** State letter as in Redis; `x` for a job in no structure (being added, or removed). */
  st: 'w' | 'd' | 'a' | 'c' | 'f' | 'x'
  e?: string
  r?: string
  /** Progress (JSON), from job.updateProgress(). */
  pg?: string
  /** When it finished (store clock, ms). */
  f?: number
  /** Finish order: breaks ties between jobs finished in the same ms (as Redis' µs scores do). */
  fo?: number
  /** Bumped on every state change: heap entries from an older generation are stale. */
  gen: number
}

export interface Entry {
  job: MemoryJob
  key: number
  gen: number
}

export const byKey = (a: Entry, b: Entry) => a.key < b.key

/**
 * The record of a job being added, in no structure yet. Its state starts as `x`, which
 * move() keeps no count of, so the store's first move() counts it once.
 */
export function newMemoryJob(id: string, input: NewJob, sequence: number, now: number): MemoryJob {
  return {
    id,
    payload: input.payload,
    w: input.priority * LEVEL_SCORE + sequence,
    rt: now + input.delayMs,
    a: 0,
    s: 0,
    k: undefined,
    st: 'x',
    gen: 0,
  }
}

/** The error of a job dead-lettered after `stalls` lease expiries: the JSON the Redis store writes too. */
export function stalledError(stalls: number): string {
  return JSON.stringify({
    message: `The job stalled ${stalls} times (its lease expired each time)`,
    code: 'E_LEASE_LOST',
  })
}

/** The fields getJob() reads, named as in the Redis job hash. */
export function memoryJobFields(job: MemoryJob): Record<string, string> {
  const fields: Record<string, string> = {
    p: job.payload,
    a: String(job.a),
    s: String(job.s),
    st: job.st,
    rt: String(job.rt),
  }
  if (job.e !== undefined) fields.e = job.e
  if (job.r !== undefined) fields.r = job.r
  if (job.pg !== undefined) fields.pg = job.pg
  return fields
}

/** The waiting jobs among `jobs`, by priority level, and when the oldest became ready. */
export function countWaiting(jobs: Iterable<MemoryJob>): Pick<StoreCounts, 'waiting' | 'oldestReadyAt'> {
  const waiting = { critical: 0, high: 0, medium: 0, low: 0 }
  let oldestReadyAt: number | undefined
  for (const job of jobs) {
    if (job.st !== 'w') continue
    waiting[levelOf(Math.floor(job.w / LEVEL_SCORE))]++
    if (oldestReadyAt === undefined || job.rt < oldestReadyAt) oldestReadyAt = job.rt
  }
  return { waiting, oldestReadyAt }
}
