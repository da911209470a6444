// The public shape of a worker: what a handler receives and what createWorker returns.
// Apart from worker.ts so the loop's file holds the loop, not its contract.
import type { QueueEvents } from './queue-types.js'

/** A job as a handler receives it. */
export interface Job<Data = unknown> {
  id: string
  name: string
  data: Data
  /** This attempt's number, from 1. */
  attempt: number
  maxAttempts: number
  priority: number
  /** Aborted when the job times out, its lease is lost, or the worker closes before it finished. */
  signal: AbortSignal
  /**
   * Records the job's progress (a number or small JSON, up to 64 KiB) on the job and, when
   * the queue records events, as a `progress` event. Rejects with `E_LEASE_LOST` once this
   * worker no longer holds the job's lease (fencing: a stale worker cannot report).
   *
   * @example
   * await job.updateProgress({ done: 3, of: 10 })
   */
  updateProgress(value: unknown): Promise<void>
}

/** Handles one job; its return value (JSON) is kept with the completed job. */
export type JobHandler<Data = any> = (job: Job<Data>) => unknown

export interface WorkerStats {
  /** Handlers running. */
  running: number
  /** Leases held (running, or finished and waiting for their acknowledgement). */
  held: number
  processed: number
  failures: number
  retries: number
  leaseLost: number
  claimErrors: number
  settleErrors: number
  paused: boolean
  closed: boolean
}

/** Consumes a {@link Queue}: claims jobs in batches, runs them, renews their leases, acknowledges them in batches. */
export interface Worker {
  on<E extends keyof QueueEvents & string>(event: E, listener: (payload: QueueEvents[E]) => void): () => void
  /** Stops claiming (running jobs go on). */
  pause(): void
  resume(): void
  stats(): WorkerStats
  /**
   * Stops claiming, waits up to `timeout` ms for running jobs, hands the rest back
   * to the queue (their attempt is not counted; their signals abort), and flushes
   * acknowledgements. Clears every timer.
   */
  close(options?: { timeout?: number }): Promise<void>
}
