// The Job object a handler receives, backed by the worker's lease of it.
import type { ProgressReporter } from './job-progress.js'
import type { Lease } from './lease.js'
import type { Job } from './worker-types.js'

/** A job as its handler sees it: a class, so `signal` is one shared getter rather than a closure per job. */
export class LeasedJob implements Job {
  readonly id: string
  readonly name: string
  readonly data: unknown
  readonly attempt: number
  readonly maxAttempts: number
  readonly priority: number
  readonly #lease: Lease
  readonly #progress: ProgressReporter
  constructor(lease: Lease, data: unknown, priority: number, progress: ProgressReporter) {
    this.id = lease.id
    this.name = lease.name
    this.data = data
    this.attempt = lease.attempt
    this.maxAttempts = lease.maxAttempts
    this.priority = priority
    this.#lease = lease
    this.#progress = progress
  }
  updateProgress(value: unknown): Promise<void> {
    return this.#progress(this.#lease, value)
  }
  get signal(): AbortSignal {
    const lease = this.#lease
    lease.controller ??= new AbortController()
    return lease.controller.signal
  }
}
