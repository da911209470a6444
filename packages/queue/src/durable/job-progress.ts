// job.updateProgress(): checks the value, then stores it through the store's fenced
// progress call, so a worker that lost a job's lease cannot report for it.
import { describeValue } from '@headroom/core'
import { LeaseLostError } from '../shared/errors.js'
import type { JobStore } from '../store/job-store.js'
import type { Lease } from './lease.js'
import { serializeData } from './serialize.js'

/** Largest progress value, as JSON: progress is a status, not a result channel. */
export const MAX_PROGRESS_BYTES = 64 * 1024

export type ProgressReporter = (lease: Lease, value: unknown) => Promise<void>

export function createProgressReporter(store: JobStore): ProgressReporter {
  return async (lease, value) => {
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol')
      throw new TypeError(
        `updateProgress expects a number or a JSON value such as { done: 3, of: 10 } (received ${describeValue(value)})`,
      )
    const json = serializeData(value, lease.name)
    if (json.length > MAX_PROGRESS_BYTES)
      throw new RangeError(
        `updateProgress: the value is ${json.length} bytes as JSON; keep progress under ${MAX_PROGRESS_BYTES} (return large data as the job's result)`,
      )
    if (lease.lost || lease.done)
      throw new LeaseLostError(
        `Job ${lease.id}: progress not recorded, ${lease.lost ? 'its lease was lost' : 'its attempt has ended'}`,
      )
    if (!(await store.progress(lease.id, lease.token, json)))
      throw new LeaseLostError(
        `Job ${lease.id}: progress not recorded, its lease was lost (it expired or another worker holds the job)`,
      )
  }
}
