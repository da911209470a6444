// The public shape of a queue's event stream as a subscriber sees it: the events, their
// payloads, the subscriber's options and methods. Apart from queue-events.ts so that file
// holds the reading loop, not the contract.

/** A job's error as stored with it. */
export interface JobError {
  message: string
  code?: string
}

/**
 * The events of a durable queue, as every process sees them (`createQueueEvents`). Each
 * payload carries `eventId`, the id of its stream entry: pass the last one you handled
 * as `lastEventId` to resume after a restart. Events of one kind written by one call (a
 * worker's batch) share an entry and its id; resuming delivers the entries after it.
 */
export interface QueueEventMap {
  [event: string]: unknown
  /** A job was added (`delay` > 0: it waits in the delayed set that long first). */
  added: { eventId: string; jobId: string; name: string; delay: number }
  /** A worker leased the job for its `attempt`-th attempt. */
  active: { eventId: string; jobId: string; attempt: number }
  /** The handler called `job.updateProgress(data)`. */
  progress: { eventId: string; jobId: string; data: unknown }
  /** The job completed; `returnvalue` is the handler's return value (undefined when it returned none). */
  completed: { eventId: string; jobId: string; returnvalue: unknown }
  /** The job failed for good (attempts spent, unrecoverable, or too many stalls). */
  failed: { eventId: string; jobId: string; failedReason: string; error: JobError }
  /** An attempt failed; the job runs again after `delay` ms. */
  retrying: { eventId: string; jobId: string; failedReason: string; error: JobError; delay: number }
  /** The job's lease expired (its worker died or stalled); it was put back in line (or failed after too many stalls). */
  stalled: { eventId: string; jobId: string }
  /** Reading the stream failed (Redis unreachable); the subscriber retries from its last event id. */
  error: { error: unknown }
}

/** Options of {@link createQueueEvents}. */
export interface QueueEventsOptions {
  /**
   * Where to start: `'$'` for events after the subscriber is ready, `'0'` for every event
   * the stream still holds, or the `eventId` of the last event handled (resume).
   * @default '$'
   */
  lastEventId?: string
  /** Longest time one blocking read waits on Redis before it is issued again, in ms. @default 5000 */
  blockMs?: number
  /** Events fetched per read. @default 1000 */
  batchSize?: number
}

/** A subscriber to a queue's events; it reads them on a connection of its own. */
export interface QueueEventsSubscriber {
  /** Subscribes to one event; returns the unsubscribe function. */
  on<E extends keyof QueueEventMap & string>(
    event: E,
    listener: (payload: QueueEventMap[E]) => void,
  ): () => void
  /** The id of the last event read (where a new subscriber would resume). */
  readonly lastEventId: string
  /** Resolves once the subscriber's starting point is fixed: events after it are delivered. */
  ready(): Promise<void>
  /**
   * Resolves with the job's return value once it completes, or rejects with
   * `E_JOB_FAILED` (its error as `cause`) once it fails for good; at once if it already
   * finished. Rejects with `E_TIMEOUT` after `timeoutMs`, and with `E_JOB_NOT_FOUND`
   * when no such job exists (never added, or already removed by retention).
   */
  waitUntilFinished<Result = unknown>(jobId: string, timeoutMs?: number): Promise<Result>
  /** Stops reading, closes its connection, and rejects the pending `waitUntilFinished` calls. */
  close(): Promise<void>
}
