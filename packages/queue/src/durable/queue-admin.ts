// The operator verbs of a durable queue (getJobs, getJobCounts, retryJobs, retryJob,
// remove, clean): argument checks here, one bounded store call per chunk underneath.
import { describeValue } from '@headroom/core'
import { JobActiveError } from '../shared/errors.js'
import { ADMIN_CHUNK, type JobStore, type StateLetter } from '../store/job-store.js'
import { toJobInfo } from './job-info.js'
import type { GetJobsOptions, JobListState, QueueAdmin, RetryJobsOptions } from './queue-types.js'

const LETTERS: Record<JobListState, StateLetter> = {
  waiting: 'w',
  delayed: 'd',
  active: 'a',
  completed: 'c',
  failed: 'f',
  dead: 'f',
}

function letterOf(
  call: string,
  state: unknown,
  allowed: readonly string[] = Object.keys(LETTERS),
): StateLetter {
  if (typeof state !== 'string' || !allowed.includes(state)) {
    throw new TypeError(
      `Invalid ${call} state: expected one of ${allowed.join(', ')} (received ${describeValue(state)})`,
    )
  }
  return LETTERS[state as JobListState]
}

function checkCount(call: string, option: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new TypeError(
      `Invalid ${call} ${option}: expected an integer >= ${min} (received ${describeValue(value)})`,
    )
  }
  return value
}

function checkObject(call: string, options: unknown, keys: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {}
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(
      `Invalid ${call} options: expected undefined or { ${keys.join(', ')} } (received ${describeValue(options)})`,
    )
  }
  for (const key of Object.keys(options)) {
    if (!keys.includes(key))
      throw new TypeError(`Invalid ${call} option "${key}": unknown option (expected ${keys.join(', ')})`)
  }
  return options as Record<string, unknown>
}

export function createQueueAdmin(store: JobStore): QueueAdmin {
  const admin = store.admin
  return {
    async getJobs<Data>(state: JobListState, options?: GetJobsOptions) {
      const letter = letterOf('getJobs', state)
      const page = checkObject('getJobs', options, ['start', 'end', 'asc'])
      const start = page.start === undefined ? 0 : checkCount('getJobs', 'start', page.start, 0)
      const end = page.end === undefined ? start + 99 : checkCount('getJobs', 'end', page.end, start)
      if (end - start >= ADMIN_CHUNK) {
        throw new RangeError(
          `Invalid getJobs range ${start}..${end}: a page spans at most ${ADMIN_CHUNK} jobs; read more pages`,
        )
      }
      if (page.asc !== undefined && typeof page.asc !== 'boolean') {
        throw new TypeError(`Invalid getJobs asc: expected a boolean (received ${describeValue(page.asc)})`)
      }
      const jobs = await admin.list(letter, start, end, page.asc === true)
      return jobs.map((job) => toJobInfo<Data>(job.id, job))
    },

    async getJobCounts() {
      const counts = await store.counts()
      const { critical, high, medium, low } = counts.waiting
      return {
        waiting: critical + high + medium + low,
        delayed: counts.delayed,
        active: counts.active,
        completed: counts.completed,
        failed: counts.failed,
        waitingByPriority: { critical, high, medium, low },
      }
    },

    async retryJobs(options?: RetryJobsOptions) {
      const input = checkObject('retryJobs', options, ['state', 'count'])
      if (input.state !== undefined) letterOf('retryJobs', input.state, ['failed', 'dead'])
      const count =
        input.count === undefined
          ? Number.POSITIVE_INFINITY
          : checkCount('retryJobs', 'count', input.count, 1)
      let moved = 0
      while (moved < count) {
        const want = Math.min(ADMIN_CHUNK, count - moved)
        const n = await admin.retryFailed(want)
        moved += n
        if (n < want) break
      }
      return moved
    },

    async retryJob(id: string) {
      if (typeof id !== 'string' || id === '')
        throw new TypeError(`Invalid retryJob id: expected a job id (received ${describeValue(id)})`)
      return admin.retryOne(id)
    },

    async remove(id: string) {
      if (typeof id !== 'string' || id === '')
        throw new TypeError(`Invalid remove id: expected a job id (received ${describeValue(id)})`)
      const outcome = await admin.remove(id)
      if (outcome === 'active') {
        throw new JobActiveError(
          `Job "${id}" is active (a worker holds its lease) and was not removed; remove it once it has settled`,
        )
      }
      return outcome === 'removed'
    },

    async clean(state, ageMs, limit) {
      const letter = letterOf('clean', state, ['completed', 'failed', 'dead']) as 'c' | 'f'
      if (typeof ageMs !== 'number' || !Number.isFinite(ageMs) || ageMs < 0) {
        throw new TypeError(
          `Invalid clean ageMs: expected a number of ms >= 0 (received ${describeValue(ageMs)})`,
        )
      }
      const max = limit === undefined ? Number.POSITIVE_INFINITY : checkCount('clean', 'limit', limit, 1)
      const removed: string[] = []
      while (removed.length < max) {
        const want = Math.min(ADMIN_CHUNK, max - removed.length)
        const ids = await admin.clean(letter, Math.round(ageMs), want)
        removed.push(...ids)
        if (ids.length < want) break
      }
      return removed
    },
  }
}
