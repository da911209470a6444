// What a store adds for scheduling: repeatable jobs (job schedulers), a queue-wide pause
// flag and the wake-ups of idle workers. Apart from job-store.ts so the core contract of a
// store (add, claim, settle) reads on its own.

/** One slot of a job scheduler, handed to the store to add at most once. */
export interface RepeatSlot {
  /** The scheduler's id. */
  key: string
  /** The scheduler's spec (JSON, see repeat.ts): a slot of an older spec is not added. */
  spec: string
  /** The slot's time (ms since the epoch): the job's id is derived from it and `key`. */
  at: number
  /** The encoded job payload, the same for every slot. */
  payload: string
  priority: number
}

/** A job scheduler as the store holds it. */
export interface StoredScheduler {
  key: string
  spec: string
  /** The latest slot scheduled (its job waits or has run), if any. */
  next: number | undefined
}

/** Blocks an idle worker until a job may be there (an add, a resume) or `ms` pass. */
export interface WorkWaiter {
  /** Resolves on a wake-up or after `ms`; never rejects. */
  wait(ms: number): Promise<void>
  /** Ends a wait in progress and releases the waiter's connection. */
  close(): void
}

export interface SchedulingStore {
  /**
   * `upsert`: stores the spec of scheduler `slot.key` (a changed spec drops the job
   * pending for the old one) and adds the job of `slot.at` unless the latest slot's job
   * still waits. `next`: adds it only while the stored spec is `slot.spec`. Either way a
   * slot is added only if it is later than every slot scheduled before (once, however
   * many processes try). Resolves to the latest slot scheduled, or undefined when `next`
   * found the scheduler changed or removed.
   */
  scheduleRepeat(mode: 'upsert' | 'next', slot: RepeatSlot): Promise<number | undefined>
  listRepeats(): Promise<StoredScheduler[]>
  /** Deletes scheduler `key` and its job not yet due; resolves to whether it existed. */
  removeRepeat(key: string): Promise<boolean>
  /** Sets or clears the queue-wide pause flag (claims lease nothing while it is set). */
  setPaused(paused: boolean): Promise<void>
  isPaused(): Promise<boolean>
  /** A waiter for one idle worker (Redis: a blocking pop on its own connection). */
  createWaiter(): WorkWaiter
}
