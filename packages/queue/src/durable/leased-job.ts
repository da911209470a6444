// The Job object a handler receives, backed by the worker's lease of it. Its progress
// goes through the store's fenced progress call, so a worker that lost a job's lease
// cannot report for it.
import { describeValue } from '@headroom/core'
import { LeaseLostError } from '../shared/errors.js'
import type { JobStore } from '../store/job-store.js'
import type { Lease } from './lease.js'
import { serializeData } from './serialize.js'
import type { Job } from './worker-types.js'

/** Largest progress value, as JSON: progress is a status, not a result channel. */
export const MAX_PROGRESS_BYTES = 64 * 1024

/** A job as its handler sees it: a class, so `signal` is one shared getter rather than a closure per job. */
export class LeasedJob implements Job {
  readonly id: string
  readonly name: string
  readonly data: unknown
  readonly attempt: number
  readonly maxAttempts: number
  readonly priority: number
  readonly #lease: Lease
  readonly #store: JobStore
  constructor(lease: Lease, data: unknown, priority: number, store: JobStore) {
    this.id = lease.id
    this.name = lease.name
    this.data = data
    this.attempt = lease.attempt
    this.maxAttempts = lease.maxAttempts
    this.priority = priority
    this.#lease = lease
    this.#store = store
  }

  async updateProgress(value: unknown): Promise<void> {
    const lease = this.#lease
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
    if (!(await this.#store.progress(lease.id, lease.token, json)))
      throw new LeaseLostError(
        `Job ${lease.id}: progress not recorded, its lease was lost (it expired or another worker holds the job)`,
      )
  }

  get signal(): AbortSignal {
    const lease = this.#lease
    lease.controller ??= new AbortController()
    return lease.controller.signal
  }
}
