// createQueueEvents: a subscriber to a durable queue's event stream (a Redis Stream the
// queue's scripts write, or the memory store's log), in any process. One loop reads the
// stream from the subscriber's position and hands each event to its listeners and to the
// pending waitUntilFinished calls; the position, listeners and waiters are private to it.
import {
  ClosedError,
  childLogger,
  createEmitter,
  type OptionsSchemaMatch,
  parseOptions,
  sleep,
  TimeoutError,
  type TimerHandle,
} from '@headroom/core'
import { z } from 'zod'
import { linkOf } from '../durable/queue.js'
import type { Queue } from '../durable/queue-types.js'
import { JobFailedError, JobNotFoundError } from '../shared/errors.js'
import type { StoredEvent } from '../store/job-store.js'
import type { JobError, QueueEventMap, QueueEventsOptions, QueueEventsSubscriber } from './types.js'

const optionsSchema = z.object({
  lastEventId: z
    .string()
    .regex(/^(\$|\d+(-\d+)?)$/, "expected '$', '0' or an event id such as '1733390000000-0'")
    .default('$'),
  blockMs: z.number({ error: 'expected an integer of ms >= 1' }).int().min(1).default(5000),
  batchSize: z
    .number({ error: 'expected an integer from 1 to 10000' })
    .int()
    .min(1)
    .max(10_000)
    .default(1000),
}) satisfies z.ZodType<Required<QueueEventsOptions>, QueueEventsOptions>

/** Compiles only while the schema and {@link QueueEventsOptions} list the same keys. */
true satisfies OptionsSchemaMatch<typeof optionsSchema, QueueEventsOptions>

/** Stream ids compare as (ms, seq) pairs. */
function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number)
  const [bm = 0, bs = 0] = b.split('-').map(Number)
  return am !== bm ? am - bm : as - bs
}

const parseJson = (text: string | undefined): unknown =>
  text === undefined || text === '' ? undefined : JSON.parse(text)

function jobError(text: string | undefined): JobError {
  const parsed = parseJson(text) as JobError | undefined
  return parsed && typeof parsed.message === 'string' ? parsed : { message: String(text ?? 'unknown error') }
}

/** Values per item of each kind of entry (see redis/scripts/preamble.ts). */
const STRIDE: Record<string, number> = {
  added: 3,
  active: 2,
  progress: 2,
  completed: 2,
  failed: 2,
  retrying: 3,
  stalled: 1,
}

/** Decodes the item at `at` of an entry of kind `kind` into its event payload. */
function decode(kind: string, f: string[], at: number, eventId: string): QueueEventMap[string] {
  const jobId = f[at]!
  switch (kind) {
    case 'added':
      return { eventId, jobId, name: JSON.parse(`"${f[at + 1]}"`) as string, delay: Number(f[at + 2]) }
    case 'active':
      return { eventId, jobId, attempt: Number(f[at + 1]) }
    case 'progress':
      return { eventId, jobId, data: parseJson(f[at + 1]) }
    case 'completed':
      return { eventId, jobId, returnvalue: parseJson(f[at + 1]) }
    case 'failed': {
      const error = jobError(f[at + 1])
      return { eventId, jobId, failedReason: error.message, error }
    }
    case 'retrying': {
      const error = jobError(f[at + 1])
      return { eventId, jobId, failedReason: error.message, error, delay: Number(f[at + 2]) }
    }
    default:
      return { eventId, jobId }
  }
}

interface Waiter {
  resolve(value: unknown): void
  reject(error: unknown): void
}

/**
 * Subscribes to a queue's events from this process: every job added, leased, reporting
 * progress, completed (with its return value), failed, retried or stalled, wherever it
 * ran. On Redis the events are a Stream written by the same scripts that make each
 * change (an event exists iff its change happened), read with a blocking XREAD on a
 * connection of the subscriber's own; a subscriber that lost its connection resumes from
 * its last event id. The queues that add and run the jobs record events when created
 * with `events: true`.
 *
 * @example
 * const events = createQueueEvents(queue)
 * events.on('completed', ({ jobId, returnvalue }) => notify(jobId, returnvalue))
 * const id = await queue.add('render', { reportId: 7 })
 * const url = await events.waitUntilFinished<string>(id, 30_000)
 * await events.close()
 */
export function createQueueEvents(queue: Queue, input: QueueEventsOptions = {}): QueueEventsSubscriber {
  const link = linkOf(queue, 'createQueueEvents')
  const options = parseOptions('createQueueEvents', optionsSchema, input)
  const { clock } = link
  const logger = childLogger(link.logger, { component: 'queue-events' })
  const reader = link.store.openEvents()
  const emitter = createEmitter<QueueEventMap>((error, event) =>
    logger.error({ err: error, event }, 'queue events listener threw'),
  )
  const waiters = new Map<string, Set<Waiter>>()
  /** Callbacks run once the loop has read up to (at least) an id. */
  const catchUps = new Set<{ id: string; done: () => void }>()
  let position: string | undefined = options.lastEventId === '$' ? undefined : options.lastEventId
  let closed = false
  let markReady!: () => void
  const ready = new Promise<void>((resolve) => {
    markReady = resolve
  })
  if (position !== undefined) markReady()

  const settle = (jobId: string, outcome: (waiter: Waiter) => void) => {
    const set = waiters.get(jobId)
    if (!set) return
    waiters.delete(jobId)
    for (const waiter of set) outcome(waiter)
  }

  /** Hands an entry's events (one kind, one or more jobs) to the listeners and waiters. */
  const dispatch = (entry: StoredEvent) => {
    const f = entry.fields
    const kind = f[1] ?? ''
    const stride = STRIDE[kind]
    if (stride === undefined || f[0] !== 'e') return
    const listened = emitter.has(kind)
    const finished = (kind === 'completed' || kind === 'failed') && waiters.size > 0
    if (!listened && !finished) return
    for (let at = 2; at + stride <= f.length; at += stride) {
      // '' pads an odd count (a stream entry holds pairs); no job has an empty id.
      if (f[at] === '' || (!listened && !waiters.has(f[at]!))) continue
      let payload: QueueEventMap[string]
      try {
        payload = decode(kind, f, at, entry.id)
      } catch (error) {
        logger.warn({ err: error, eventId: entry.id }, 'skipped an event that does not decode')
        continue
      }
      if (listened) emitter.emit(kind, payload)
      if (kind === 'completed') {
        const { jobId, returnvalue } = payload as QueueEventMap['completed']
        settle(jobId, (waiter) => waiter.resolve(returnvalue))
      } else if (kind === 'failed') {
        const { jobId, error } = payload as QueueEventMap['failed']
        settle(jobId, (waiter) => waiter.reject(failure(jobId, error)))
      }
    }
  }

  const failure = (jobId: string, error: JobError) =>
    new JobFailedError(`Job ${jobId} failed: ${error.message}`, { cause: error })

  const checkCatchUps = () => {
    if (catchUps.size === 0 || position === undefined) return
    for (const entry of catchUps) {
      if (compareIds(position, entry.id) >= 0) {
        catchUps.delete(entry)
        entry.done()
      }
    }
  }

  const loop = async () => {
    let backoff = 0
    while (!closed) {
      try {
        if (position === undefined) {
          position = await reader.lastId()
          markReady()
        }
        const batch = await reader.read(position, options.batchSize, options.blockMs)
        backoff = 0
        for (const entry of batch) {
          if (closed) return
          position = entry.id
          dispatch(entry)
        }
        checkCatchUps()
      } catch (error) {
        if (closed) return
        emitter.emit('error', { error })
        logger.warn({ err: error }, 'reading queue events failed; retrying')
        backoff = Math.min(2000, Math.max(100, backoff * 2))
        await sleep(backoff, clock)
      }
    }
  }
  void loop()

  /** Resolves once the loop has read past the newest event now in the stream. */
  const caughtUp = async (): Promise<void> => {
    const tip = await reader.lastId()
    await new Promise<void>((resolve) => {
      catchUps.add({ id: tip, done: resolve })
      checkCatchUps()
    })
  }

  return {
    on: emitter.on,
    get lastEventId() {
      return position ?? options.lastEventId
    },
    ready: () => ready,
    async waitUntilFinished<Result>(jobId: string, timeoutMs?: number): Promise<Result> {
      if (typeof jobId !== 'string' || jobId === '')
        throw new TypeError(`waitUntilFinished expects a job id (received ${JSON.stringify(jobId)})`)
      if (timeoutMs !== undefined && !(timeoutMs > 0))
        throw new TypeError(
          `waitUntilFinished: timeoutMs must be a positive number of ms (received ${timeoutMs})`,
        )
      if (closed) throw new ClosedError('The queue events subscriber is closed')
      return new Promise<Result>((resolve, reject) => {
        let timer: TimerHandle | undefined
        let done = false
        const waiter: Waiter = {
          resolve(value) {
            if (finish()) resolve(value as Result)
          },
          reject(error) {
            if (finish()) reject(error)
          },
        }
        const finish = () => {
          if (done) return false
          done = true
          if (timer !== undefined) clock.clearTimeout(timer)
          const set = waiters.get(jobId)
          if (set?.delete(waiter) && set.size === 0) waiters.delete(jobId)
          return true
        }
        // The timeout counts from the call, including the wait for the subscriber's start.
        if (timeoutMs !== undefined) {
          timer = clock.setTimeout(
            () => waiter.reject(new TimeoutError(`Job ${jobId} did not finish within ${timeoutMs} ms`)),
            timeoutMs,
          )
        }
        // Registered before the job is read, once the subscriber's position is fixed: a
        // finish after the read is an event this loop sees.
        let set = waiters.get(jobId)
        if (!set) {
          set = new Set()
          waiters.set(jobId, set)
        }
        set.add(waiter)
        ready
          .then(() => {
            if (done) return undefined
            if (closed) throw new ClosedError('The queue events subscriber is closed')
            return queue.getJob(jobId)
          })
          .then(async (job) => {
            if (done) return
            if (job?.state === 'completed') waiter.resolve(job.result)
            else if (job?.state === 'failed')
              waiter.reject(failure(jobId, job.error ?? { message: 'unknown error' }))
            else if (job === undefined) {
              // Gone already (retention removed it as it finished) or never added: the stream
              // up to now tells the two apart.
              await caughtUp()
              waiter.reject(
                new JobNotFoundError(
                  `No job ${jobId} on queue "${queue.name}" (never added, or removed by retention)`,
                ),
              )
            }
          })
          .catch((error: unknown) => waiter.reject(error))
      })
    },
    async close() {
      if (closed) return
      closed = true
      reader.close()
      markReady()
      for (const entry of catchUps) entry.done()
      catchUps.clear()
      for (const [jobId, set] of [...waiters]) {
        waiters.delete(jobId)
        for (const waiter of set)
          waiter.reject(new ClosedError(`The queue events subscriber closed before job ${jobId} finished`))
      }
      emitter.clear()
    },
  }
}
