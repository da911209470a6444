import type { SchedulingStore } from './scheduling-store.js'

/** A job as the store hands it to a worker, with its lease. */
export interface ClaimedJob {
  id: string
  /** The encoded job (see payload.ts). */
  payload: string
  /** This attempt's number, from 1. */
  attempt: number
  /** The fencing token of this lease: only the holder of the newest token may settle the job. */
  token: string
  /** When the job became ready (store clock, ms). */
  readyAt: number
}

/** What a worker reports about one leased job. */
export type Settlement =
  | { id: string; token: string; outcome: 'completed'; result?: string }
  | { id: string; token: string; outcome: 'retry'; error: string; delayMs: number }
  | { id: string; token: string; outcome: 'dead'; error: string }
  /** Hands an unfinished job back (graceful close): the attempt is not counted. */
  | { id: string; token: string; outcome: 'release' }

export type JobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed'

/** A job as {@link Queue.getJob} reads it. */
export interface JobInfo<Data = unknown> {
  id: string
  name: string
  data: Data
  state: JobState
  priority: number
  /** Attempts started so far. */
  attempts: number
  maxAttempts: number
  /** Times its lease expired (its worker died or stalled). */
  stalls: number
  /** The last error (`message`, `code`), for failed and retried jobs. */
  error?: { message: string; code?: string }
  /** The handler's return value, for completed jobs (when it returned one). */
  result?: unknown
  /** The last value the handler passed to `job.updateProgress()`. */
  progress?: unknown
}

/** Counts a store reports for `stats()`. */
export interface StoreCounts {
  /** Now, by the store's clock (Redis `TIME`). */
  now: number
  waiting: { critical: number; high: number; medium: number; low: number }
  delayed: number
  active: number
  completed: number
  failed: number
  /** When the oldest waiting job became ready (store clock), or undefined when none waits. */
  oldestReadyAt: number | undefined
}

/** A new job handed to a store, already validated and encoded. */
export interface NewJob {
  /** Custom id ('' for an id from the queue's sequence). */
  id: string
  payload: string
  priority: number
  delayMs: number
}

/** What a claim returns: the jobs leased, the ids recovered from dead workers, the store time. */
export interface ClaimResult {
  now: number
  jobs: ClaimedJob[]
  /** Jobs whose lease had expired, put back in line (or dead-lettered after too many stalls). */
  stalled: string[]
  /** Per entry of {@link ClaimOptions.settle}: whether its fencing token was still current. */
  settled: boolean[]
  /**
   * Claims that came back short only: ms until a job may become claimable without an add
   * (the next delayed job is due, a lease expires, the rate limit frees a slot);
   * undefined when nothing is scheduled.
   */
  wakeInMs?: number
}

export interface ClaimOptions {
  /** Jobs to lease (0: only promote delayed jobs and recover expired leases). */
  count: number
  leaseMs: number
  /** Only jobs with a priority up to this run (load shedding); undefined: all. */
  maxPriority: number | undefined
  /** Settlements applied first, in the same round trip (a busy worker acknowledges and claims at once). */
  settle?: readonly Settlement[]
  /** This claim follows a wake-up: when it fills its batch and jobs still wait, wake the next idle worker. */
  woke?: boolean
}

/** The storage behind a queue: a memory store and a Redis store implement it. */
export interface JobStore extends SchedulingStore {
  readonly kind: 'memory' | 'redis'
  /** `bulk`: a batch from `addBulk`, held to the worker timeout (per chunk) rather than the add timeout. */
  add(jobs: readonly NewJob[], bulk?: boolean): Promise<string[]>
  claim(options: ClaimOptions): Promise<ClaimResult>
  /** Extends the leases still held; returns the ids whose lease was lost. */
  extend(leases: readonly { id: string; token: string }[], leaseMs: number): Promise<string[]>
  /** Settles leased jobs; each entry says whether the fencing token was still current. */
  settle(settlements: readonly Settlement[]): Promise<boolean[]>
  getJob(id: string): Promise<{ payload: string; fields: Record<string, string> } | undefined>
  counts(): Promise<StoreCounts>
  /** Wakes idle workers of this process when jobs arrive (memory store only). */
  onAvailable?(listener: () => void): () => void
  /** Stores a leased job's progress (JSON) and emits `progress`; false when the lease `token` no longer holds it. */
  progress(id: string, token: string, value: string): Promise<boolean>
  /** A reader of the queue's event stream, with a connection of its own (see queue-events.ts). */
  openEvents(): EventStreamReader
  /** Deletes every key of the queue (tests, teardown). */
  obliterate(): Promise<void>
  close(): void
  /** Operator verbs (listing, retrying, removing, cleaning), see {@link StoreAdmin}. */
  readonly admin: StoreAdmin
}

// ---- Operator verbs (getJobs, retryJobs, remove, clean) -------------------------------

/** A job as a store reads it back: its payload and hash fields, `st` its state letter. */
export interface StoredJob {
  id: string
  payload: string
  fields: Record<string, string>
}

/** The state letters both stores use: waiting, delayed, active, completed, failed. */
export type StateLetter = 'w' | 'd' | 'a' | 'c' | 'f'

/** What `remove(id)` found: removed, held by a worker (refused), or no such job. */
export type RemoveOutcome = 'removed' | 'active' | 'missing'

/**
 * The operator side of a store. Each call is atomic (one script in Redis) and touches at
 * most {@link ADMIN_CHUNK} jobs, so a large backlog is worked through in several calls.
 */
export interface StoreAdmin {
  /** Jobs of one state from rank `start` to `end` (inclusive), oldest first when `asc`. */
  list(state: StateLetter, start: number, end: number, asc: boolean): Promise<StoredJob[]>
  /** Moves up to `limit` (at most ADMIN_CHUNK) failed jobs, oldest first, back to waiting; returns how many. */
  retryFailed(limit: number): Promise<number>
  /** Moves one failed job back to waiting; false when no failed job has this id. */
  retryOne(id: string): Promise<boolean>
  remove(id: string): Promise<RemoveOutcome>
  /** Deletes up to `limit` (at most ADMIN_CHUNK) finished jobs older than `ageMs`, oldest first; returns their ids. */
  clean(state: 'c' | 'f', ageMs: number, limit: number): Promise<string[]>
}

/** Jobs one admin call touches at most (one Lua call never blocks Redis for long). */
export const ADMIN_CHUNK = 1000

/** Retention of finished jobs: the newest `count`, none older than `ageMs`. */
export interface RetentionRule {
  /** Finished jobs kept (0 deletes them at once). @default 1000 completed, 10000 failed */
  count?: number
  /** Oldest finished job kept, in ms. @default 86400000 completed (1 day), 604800000 failed (7 days) */
  ageMs?: number
}

export interface StoreConfig {
  completed: { count: number; ageMs: number }
  failed: { count: number; ageMs: number }
  /** Jobs waiting longer than this are claimed first, whatever their priority (0: off). */
  agingMs: number
  /** Lease expiries after which a job goes to the dead-letter state. */
  maxStalls: number
  /** At most `max` jobs claimed per `durationMs` across every worker (undefined: no limit). */
  limiter: { max: number; durationMs: number } | undefined
  /** Entries the event stream keeps (about, on Redis: MAXLEN ~); 0: this queue records no events. */
  eventsMaxLen: number
}

/**
 * One entry of a queue's event stream, as a store reads it: its id and its values,
 * `['e', kind, ...items]` (one or more jobs' events of one kind; see redis/scripts/preamble.ts).
 */
export interface StoredEvent {
  id: string
  fields: string[]
}

/** Reads a queue's event stream: the memory store's log, or the Redis Stream on a connection of its own. */
export interface EventStreamReader {
  /** Up to `count` events after the id `after`, waiting up to `blockMs` for the first; [] when none came. */
  read(after: string, count: number, blockMs: number): Promise<StoredEvent[]>
  /** The id of the newest event, '0-0' when there is none. */
  lastId(): Promise<string>
  /** Ends a read in progress (it resolves to []) and releases the connection. */
  close(): void
}
