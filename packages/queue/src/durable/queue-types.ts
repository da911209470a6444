// The public shape of a durable queue: the options of one job, its events, its stats and
// its methods. Apart from queue.ts so that file holds the construction, not the contract.
import type { LatencySummary } from '@headroom/core'
import type { PriorityInput } from '../shared/priority.js'
import type { JobInfo, JobState } from '../store/job-store.js'

/** Options of one job. */
export interface AddJobOptions {
  /** `CRITICAL` > `HIGH` > `MEDIUM` > `LOW`, or 0 (first) .. 1000 (last). @default the queue's defaultPriority */
  priority?: PriorityInput
  /** Run no sooner than this many ms from now (by the store's clock). @default 0 */
  delay?: number
  /** A custom id: adding a job whose id exists is a no-op (idempotent producers). @default a sequence number */
  jobId?: string
  /** Attempts in all, overriding the queue's retry.attempts. @default the queue's */
  attempts?: number
  /** Per-attempt timeout in ms; the handler's signal aborts when it passes. @default the queue's timeoutMs */
  timeout?: number
}

/** One job for {@link Queue.addBulk}. */
export interface BulkJob<Data = unknown> {
  name: string
  data: Data
  options?: AddJobOptions
}

export interface QueueEvents {
  [event: string]: unknown
  completed: { id: string; name: string; attempt: number; runMs: number }
  failed: { id: string; name: string; attempt: number; error: unknown }
  retrying: { id: string; name: string; attempt: number; delayMs: number; error: unknown }
  stalled: { id: string }
  /** `add` refused a job under load shedding. */
  refused: { name: string; priority: number }
  /** A completion or failure was refused because the lease had moved on (fencing). */
  'lease-lost': { id: string }
  error: { error: unknown }
  /** A Redis node may evict keys (its maxmemory-policy is not `noeviction`); `refused` under `evictionPolicy: 'refuse'`. */
  'eviction-policy': { node: string; policy: string; refused: boolean }
}

export interface QueueStats {
  name: string
  store: 'memory' | 'redis'
  /** Jobs waiting, by priority level. */
  waiting: { critical: number; high: number; medium: number; low: number }
  delayed: number
  active: number
  /** Finished jobs still retained. */
  completed: number
  failed: number
  /** How long the oldest waiting job has waited, in ms (0 when none). */
  oldestWaitMs: number
  /** Counters of this process. */
  added: number
  processed: number
  failures: number
  retries: number
  stalled: number
  /** Settlements refused because the lease had moved on (a late worker; duplicates avoided). */
  leaseLost: number
  shedding: { critical: boolean; refused: number; deferredClaims: number }
  /** Time from ready to claimed, and handler run time, as seen by this process's workers. */
  waitTime: LatencySummary
  runTime: LatencySummary
}

// ---- Operator verbs (getJobs, getJobCounts, retryJobs, remove, clean) -----------------

/**
 * A state to list, count, retry or clean. `dead` is another name for `failed`: a job that
 * failed for good (attempts spent, `UnrecoverableError`, no handler, too many stalls) is
 * dead-lettered there; a job between attempts is `delayed` or `waiting`.
 */
export type JobListState = JobState | 'dead'

/** A page of {@link Queue.getJobs}. */
export interface GetJobsOptions {
  /** First rank (0: the newest, or the oldest with `asc`). @default 0 */
  start?: number
  /** Last rank, inclusive; a page spans at most 1000 jobs. @default start + 99 */
  end?: number
  /** Oldest first (waiting: in the order workers claim them). @default false, newest first as BullMQ's getJobs */
  asc?: boolean
}

/** What {@link Queue.getJobCounts} reports: jobs per state, and waiting jobs per priority level. */
export interface JobCounts {
  waiting: number
  delayed: number
  active: number
  completed: number
  /** Dead-lettered jobs (`dead` is another name for this state). */
  failed: number
  /** The waiting jobs by priority level (`CRITICAL` 0-99, `HIGH` 100-199, `MEDIUM` 200-299, `LOW` 300+). */
  waitingByPriority: { critical: number; high: number; medium: number; low: number }
}

export interface RetryJobsOptions {
  /** Only failed (dead-lettered) jobs are retried. @default 'failed' */
  state?: 'failed' | 'dead'
  /** At most this many, oldest first. @default all of them */
  count?: number
}

export interface QueueAdmin {
  /**
   * Lists the jobs of one state, a page at a time, newest first (as BullMQ's `getJobs`)
   * or oldest first with `asc`. Waiting jobs are ordered by when workers will claim them
   * (priority, then arrival), delayed jobs by due time, finished jobs by when they finished.
   */
  getJobs<Data = unknown>(state: JobListState, options?: GetJobsOptions): Promise<JobInfo<Data>[]>
  /** Jobs per state, and waiting jobs per priority level. */
  getJobCounts(): Promise<JobCounts>
  /**
   * Moves failed (dead-lettered) jobs back to waiting, oldest first, with their attempts
   * reset; resolves to how many moved. Works through a large set in chunks of 1000 jobs,
   * each one atomic.
   */
  retryJobs(options?: RetryJobsOptions): Promise<number>
  /** Moves one failed job back to waiting with its attempts reset; false when no failed job has this id. */
  retryJob(id: string): Promise<boolean>
  /**
   * Deletes a waiting, delayed, completed or failed job; false when there is none with this
   * id. Rejects with `JobActiveError` (`E_JOB_ACTIVE`) for an active job: a worker holds it.
   */
  remove(id: string): Promise<boolean>
  /**
   * Deletes finished jobs of `state` that finished more than `ageMs` ago, oldest first, at
   * most `limit` (default all, in chunks of 1000); resolves to their ids.
   */
  clean(state: 'completed' | 'failed' | 'dead', ageMs: number, limit?: number): Promise<string[]>
}

/** A durable priority job queue (memory or Redis); workers consume it with {@link createWorker}. */
export interface Queue extends QueueAdmin {
  readonly name: string
  /** Adds a job; resolves to its id once the store acknowledged it. */
  add<Data>(name: string, data: Data, options?: AddJobOptions): Promise<string>
  /** Adds many jobs in few round trips; every job is validated before anything is written. */
  addBulk(jobs: readonly BulkJob[]): Promise<string[]>
  getJob<Data = unknown>(id: string): Promise<JobInfo<Data> | undefined>
  /**
   * Resolves once Redis' `maxmemory-policy` has been checked (at once for a memory store
   * or `evictionPolicy: 'ignore'`); rejects with `E_EVICTION_POLICY` under
   * `evictionPolicy: 'refuse'` when a node may evict keys, or with the connection's error
   * while Redis cannot be reached (the next call checks again).
   */
  ready(): Promise<void>
  stats(): Promise<QueueStats>
  on<E extends keyof QueueEvents & string>(event: E, listener: (payload: QueueEvents[E]) => void): () => void
  /** Deletes every job and key of this queue (tests, teardown). */
  obliterate(): Promise<void>

  // Scheduling
  /**
   * Creates or updates the job scheduler `id`: a job from `template` at each slot of a
   * cron `pattern` (in time zone `tz`) or every `every` ms. Each slot runs once however
   * many processes call this (call it at every start: an unchanged scheduler is left as
   * it is); the schedule lives in the store and survives restarts. A changed rule or
   * template replaces the slot not yet due. Resolves to the next slot's time.
   * @example
   * await queue.upsertJobScheduler('nightly-report', { pattern: '0 3 * * *', tz: 'Europe/Paris' }, { name: 'report', data: {} })
   */
  upsertJobScheduler<Data>(
    id: string,
    repeat: RepeatOptions,
    template: JobTemplate<Data>,
  ): Promise<{ id: string; next: number }>
  /** The job schedulers of this queue, by id. */
  getJobSchedulers(): Promise<JobScheduler[]>
  /** Removes a job scheduler and its job not yet due (a running one finishes); resolves to whether it existed. */
  removeJobScheduler(id: string): Promise<boolean>
  /**
   * Pauses the whole queue: workers in every process stop claiming (jobs already running
   * finish); `add` still works. Lasts until {@link Queue.resume}, across restarts.
   */
  pause(): Promise<void>
  /** Resumes a paused queue and wakes idle workers. */
  resume(): Promise<void>
  isPaused(): Promise<boolean>
  /** Refuses further adds and releases timers; it does not close the Redis client (you own it). */
  close(): Promise<void>
}

/** When a job scheduler fires: a cron `pattern` (5 or 6 fields, seconds first) or `every` ms. */
export interface RepeatOptions {
  /** A cron expression, e.g. `0 3 * * *` (03:00 daily) or `*\/10 * * * * *` (every 10 s). */
  pattern?: string
  /** The time zone of `pattern` (IANA name). @default 'UTC' */
  tz?: string
  /** A fixed interval in ms; slots fall on multiples of it since the epoch, the same in every process. */
  every?: number
}

/** The job a scheduler adds at each slot. */
export interface JobTemplate<Data = unknown> {
  name: string
  data?: Data
  /** Per-job options (`delay` and `jobId` come from the schedule). */
  options?: Pick<AddJobOptions, 'priority' | 'attempts' | 'timeout'>
}

/** A job scheduler, as {@link Queue.getJobSchedulers} lists it. */
export interface JobScheduler<Data = unknown> {
  id: string
  pattern?: string
  tz?: string
  every?: number
  name: string
  data: Data
  priority: number
  /** The latest slot scheduled (ms since the epoch): its job waits, runs or has run. */
  next: number | undefined
}
