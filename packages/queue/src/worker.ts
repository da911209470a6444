import {
  createChannels,
  createEmitter,
  isHeadroomError,
  parseOptions,
  QueueClosedError,
  TimeoutError,
  type TimerHandle,
} from '@headroom/core'
import { z } from 'zod'
import { backoffDelay } from './backoff.js'
import { LeaseLostError, UnknownHandlerError } from './errors.js'
import type { ClaimedJob, ClaimResult, JobPayload, Settlement } from './job.js'
import { internalsOf, type Queue, type QueueEvents } from './queue.js'

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
}

/** Handles one job; its return value (JSON) is kept with the completed job. */
export type JobHandler<Data = any> = (job: Job<Data>) => unknown

/** Options of {@link createWorker}. */
export interface WorkerOptions {
  /** Jobs run at once by this worker. @default 1 */
  concurrency?: number
  /** Most jobs leased in one round trip. @default concurrency (capped at 1000) */
  batchSize?: number
  /** Wait between claims while the queue is empty, in ms. @default 50 */
  pollIntervalMs?: number
  /** Default time `close()` waits for running jobs before handing them back, in ms. @default 10000 */
  closeTimeoutMs?: number
}

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

const workerOptionsSchema = z.object({
  concurrency: z.number({ error: 'expected an integer from 1 to 10000' }).int().min(1).max(10_000).default(1),
  batchSize: z.number({ error: 'expected an integer from 1 to 1000' }).int().min(1).max(1000).optional(),
  pollIntervalMs: z.number({ error: 'expected a positive number of ms' }).positive().finite().default(50),
  closeTimeoutMs: z.number({ error: 'expected a number of ms >= 0' }).min(0).finite().default(10_000),
})

interface Lease {
  id: string
  token: string
  name: string
  attempt: number
  maxAttempts: number
  /** Made on first use: most handlers never read their signal, and an AbortController is not free. */
  controller: AbortController | undefined
  timer: TimerHandle | undefined
  startedAt: number
  /** The handler has finished (or was abandoned). */
  done: boolean
  /** Heartbeat learned the lease moved on: settling would be refused. */
  lost: boolean
}

const channels = createChannels<{
  completed: { queue: string; id: string; name: string; runMs: number }
  failed: { queue: string; id: string; name: string; error: unknown }
  stalled: { queue: string; id: string }
}>('queue', ['completed', 'failed', 'stalled'])

function errorJson(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const code = isHeadroomError(error) ? error.code : undefined
  return JSON.stringify(code ? { message, code } : { message })
}

/**
 * Starts a worker on `queue`. `handlers` maps job names to functions; a job whose
 * name has no handler is dead-lettered at once with `E_UNKNOWN_HANDLER`.
 *
 * @example
 * const worker = createWorker(queue, {
 *   'monthly-report': async (job) => renderReport(job.data.userId, { signal: job.signal }),
 * }, { concurrency: 20 })
 * process.on('SIGTERM', () => worker.close({ timeout: 10_000 }))
 */
export function createWorker(
  queue: Queue,
  handlers: Record<string, JobHandler>,
  input: WorkerOptions = {},
): Worker {
  const internals = internalsOf(queue)
  if (internals.closed) throw new QueueClosedError(`Queue "${queue.name}" is closed`)
  if (typeof handlers !== 'object' || handlers === null) {
    throw new TypeError('Invalid createWorker handlers: expected an object of job name -> function')
  }
  for (const [name, handler] of Object.entries(handlers)) {
    if (typeof handler !== 'function') {
      throw new TypeError(
        `Invalid createWorker handler "${name}": expected a function (received ${typeof handler})`,
      )
    }
  }
  const options = parseOptions('createWorker', workerOptionsSchema, input)
  const { store, clock, logger, counters } = internals
  const { leaseMs, retry } = internals.options
  const heartbeatMs = internals.options.heartbeatMs ?? Math.floor(leaseMs / 3)
  const concurrency = options.concurrency
  const batchSize = Math.min(options.batchSize ?? concurrency, 1000)
  const events = createEmitter<QueueEvents>((error, event) =>
    logger.error({ err: error, event }, 'worker listener threw'),
  )
  const emit = <E extends keyof QueueEvents & string>(event: E, payload: QueueEvents[E]) => {
    events.emit(event, payload)
    internals.events.emit(event, payload)
  }

  const held = new Map<string, Lease>()
  let running = 0
  let processed = 0
  let failures = 0
  let retries = 0
  let leaseLost = 0
  let claimErrors = 0
  let settleErrors = 0
  let paused = false
  let stopping = false
  let closed = false
  let claiming = false
  let pollTimer: TimerHandle | undefined
  let heartbeatTimer: TimerHandle | undefined
  let claimBackoff = 0
  let pending: Settlement[] = []
  let flushing: Promise<void> | undefined
  let settleRetryTimer: TimerHandle | undefined
  let onDrained: (() => void) | undefined

  const schedulePoll = (ms: number) => {
    if (pollTimer !== undefined || stopping) return
    pollTimer = clock.setTimeout(() => {
      pollTimer = undefined
      pump()
    }, ms)
  }

  const pump = () => {
    if (stopping || paused || claiming) return
    const free = concurrency - running
    if (free <= 0) return
    if (pollTimer !== undefined) {
      clock.clearTimeout(pollTimer)
      pollTimer = undefined
    }
    claiming = true
    const count = Math.min(free, batchSize)
    const maxPriority = internals.claimCeiling()
    if (maxPriority !== undefined) counters.deferredClaims++
    store.claim({ count, leaseMs, maxPriority }).then(
      (result) => onClaimed(result, count),
      (error: unknown) => {
        claiming = false
        claimErrors++
        claimBackoff = Math.min(2_000, Math.max(100, claimBackoff * 2))
        logger.warn({ err: error, retryInMs: claimBackoff }, 'claim failed; retrying')
        emit('error', { error })
        schedulePoll(claimBackoff)
      },
    )
  }

  const onClaimed = (result: ClaimResult, count: number) => {
    claiming = false
    claimBackoff = 0
    for (const id of result.stalled) {
      counters.stalled++
      emit('stalled', { id })
      channels.stalled.publish({ queue: queue.name, id })
    }
    for (const job of result.jobs) start(job, result.now)
    if (stopping) {
      // Claimed while close() began: hand them straight back.
      for (const job of result.jobs) abandon(held.get(job.id))
      return
    }
    // Settlements of jobs that finished at once are flushed before this next claim (both on setImmediate, in order).
    if (result.jobs.length === count) schedulePump()
    else schedulePoll(options.pollIntervalMs)
  }

  const start = (claimed: ClaimedJob, now: number) => {
    let payload: JobPayload
    let data: unknown
    try {
      payload = JSON.parse(claimed.payload) as JobPayload
      data = JSON.parse(payload.d)
    } catch (error) {
      enqueueSettle({ id: claimed.id, token: claimed.token, outcome: 'dead', error: errorJson(error) })
      return
    }
    const lease: Lease = {
      id: claimed.id,
      token: claimed.token,
      name: payload.n,
      attempt: claimed.attempt,
      maxAttempts: payload.m,
      controller: undefined,
      timer: undefined,
      startedAt: clock.now(),
      done: false,
      lost: false,
    }
    held.set(lease.id, lease)
    running++
    internals.waitTime.record(now - claimed.readyAt)
    const handler = Object.hasOwn(handlers, payload.n) ? handlers[payload.n] : undefined
    if (!handler) {
      finish(
        lease,
        false,
        new UnknownHandlerError(`No handler for job "${payload.n}" on queue "${queue.name}"`),
      )
      return
    }
    const timeout = payload.t
    if (timeout > 0) {
      lease.timer = clock.setTimeout(() => {
        const error = new TimeoutError(`Job "${payload.n}" (${lease.id}) timed out after ${timeout} ms`)
        lease.controller?.abort(error)
        finish(lease, false, error)
      }, timeout)
    }
    const job: Job = {
      id: lease.id,
      name: payload.n,
      data,
      attempt: lease.attempt,
      maxAttempts: payload.m,
      priority: payload.p,
      get signal() {
        lease.controller ??= new AbortController()
        return lease.controller.signal
      },
    }
    let outcome: unknown
    try {
      outcome = handler(job)
    } catch (error) {
      finish(lease, false, error)
      return
    }
    Promise.resolve(outcome).then(
      (value) => finish(lease, true, value),
      (error: unknown) => finish(lease, false, error),
    )
  }

  const finish = (lease: Lease, ok: boolean, value: unknown) => {
    if (lease.done) return
    lease.done = true
    running--
    if (lease.timer !== undefined) clock.clearTimeout(lease.timer)
    internals.runTime.record(clock.now() - lease.startedAt)
    if (lease.lost) {
      held.delete(lease.id)
    } else if (ok) {
      let result: string | undefined
      if (value !== undefined) {
        try {
          result = JSON.stringify(value)
        } catch (error) {
          logger.warn({ err: error, id: lease.id }, 'job result is not JSON-serialisable; not stored')
        }
      }
      enqueueSettle({ id: lease.id, token: lease.token, outcome: 'completed', result })
    } else {
      const unrecoverable =
        isHeadroomError(value, 'E_UNRECOVERABLE') || isHeadroomError(value, 'E_UNKNOWN_HANDLER')
      if (unrecoverable || lease.attempt >= lease.maxAttempts) {
        enqueueSettle({ id: lease.id, token: lease.token, outcome: 'dead', error: errorJson(value) })
      } else {
        enqueueSettle({
          id: lease.id,
          token: lease.token,
          outcome: 'retry',
          error: errorJson(value),
          delayMs: backoffDelay(retry, lease.attempt),
        })
      }
    }
    if (!ok && !lease.lost) lastErrors.set(lease.id, value)
    if (running === 0) onDrained?.()
    schedulePump()
  }

  let pumpScheduled = false
  /**
   * Claims once the current burst of completions is over: jobs that finish in the same
   * tick share one claim (and one round trip) instead of a claim for the first and
   * another for the rest.
   */
  const schedulePump = () => {
    if (pumpScheduled) return
    pumpScheduled = true
    setImmediate(() => {
      pumpScheduled = false
      pump()
    })
  }

  const lastErrors = new Map<string, unknown>()

  const enqueueSettle = (settlement: Settlement) => {
    pending.push(settlement)
    if (!flushing) flushing = flush()
  }

  const flush = async (): Promise<void> => {
    // Let the current burst of completions join this batch: one round trip acknowledges them all.
    await new Promise<void>((resolve) => setImmediate(resolve))
    while (pending.length > 0) {
      const batch = pending
      pending = []
      let results: boolean[]
      try {
        results = await store.settle(batch)
      } catch (error) {
        settleErrors++
        logger.warn({ err: error, count: batch.length }, 'acknowledgement failed; retrying')
        emit('error', { error })
        pending = batch.concat(pending)
        if (closed) break
        await new Promise<void>((resolve) => {
          settleRetryTimer = clock.setTimeout(() => {
            settleRetryTimer = undefined
            resolve()
          }, 200)
        })
        continue
      }
      for (let i = 0; i < batch.length; i++) report(batch[i]!, results[i] === true)
    }
    flushing = undefined
  }

  const report = (s: Settlement, accepted: boolean) => {
    const lease = held.get(s.id)
    if (lease?.token === s.token) held.delete(s.id)
    const error = lastErrors.get(s.id)
    lastErrors.delete(s.id)
    if (!accepted) {
      leaseLost++
      counters.leaseLost++
      emit('lease-lost', { id: s.id })
      return
    }
    const name = lease?.name ?? ''
    const attempt = lease?.attempt ?? 0
    switch (s.outcome) {
      case 'completed': {
        processed++
        counters.processed++
        const runMs = lease ? clock.now() - lease.startedAt : 0
        emit('completed', { id: s.id, name, attempt, runMs })
        channels.completed.publish({ queue: queue.name, id: s.id, name, runMs })
        break
      }
      case 'retry':
        retries++
        counters.retries++
        emit('retrying', { id: s.id, name, attempt, delayMs: s.delayMs, error })
        break
      case 'dead':
        failures++
        counters.failures++
        emit('failed', { id: s.id, name, attempt, error })
        channels.failed.publish({ queue: queue.name, id: s.id, name, error })
        break
      case 'release':
        break
    }
  }

  const heartbeat = () => {
    heartbeatTimer = undefined
    if (closed) return
    const leases: { id: string; token: string }[] = []
    for (const lease of held.values()) if (!lease.lost) leases.push({ id: lease.id, token: lease.token })
    if (leases.length === 0) {
      heartbeatTimer = clock.setTimeout(heartbeat, heartbeatMs)
      return
    }
    store
      .extend(leases, leaseMs)
      .then(
        (lost) => {
          for (const id of lost) {
            const lease = held.get(id)
            if (!lease || lease.lost) continue
            // A settlement already sent may have settled it between our snapshot and now: that is no loss.
            if (lease.done && !pending.some((s) => s.id === id)) continue
            lease.lost = true
            leaseLost++
            counters.leaseLost++
            lease.controller?.abort(new LeaseLostError(`The lease of job ${id} was lost`))
            emit('lease-lost', { id })
            if (lease.done) held.delete(id)
          }
        },
        (error: unknown) => logger.warn({ err: error }, 'heartbeat failed'),
      )
      .finally(() => {
        if (!closed) heartbeatTimer = clock.setTimeout(heartbeat, heartbeatMs)
      })
  }

  /** Gives a running job back to the queue (close past its deadline, or claimed while closing). */
  const abandon = (lease: Lease | undefined) => {
    if (!lease || lease.done) return
    lease.done = true
    running--
    if (lease.timer !== undefined) clock.clearTimeout(lease.timer)
    lease.controller?.abort(
      new QueueClosedError('The worker closed before the job finished; it was handed back'),
    )
    if (!lease.lost) enqueueSettle({ id: lease.id, token: lease.token, outcome: 'release' })
  }

  const unsubscribe = store.onAvailable?.(() => pump())
  const self: Worker = {
    on: events.on,
    pause() {
      paused = true
    },
    resume() {
      paused = false
      pump()
    },
    stats: () => ({
      running,
      held: held.size,
      processed,
      failures,
      retries,
      leaseLost,
      claimErrors,
      settleErrors,
      paused,
      closed: stopping,
    }),
    async close(closeOptions = {}) {
      if (stopping) return
      stopping = true
      unsubscribe?.()
      if (pollTimer !== undefined) clock.clearTimeout(pollTimer)
      pollTimer = undefined
      const timeout = closeOptions.timeout ?? options.closeTimeoutMs
      if (running > 0) {
        await new Promise<void>((resolve) => {
          const timer = clock.setTimeout(resolve, timeout)
          onDrained = () => {
            clock.clearTimeout(timer)
            resolve()
          }
        })
        onDrained = undefined
        for (const lease of [...held.values()]) abandon(lease)
      }
      // A claim in flight lands after this point and is handed back by onClaimed.
      while (claiming) await new Promise<void>((resolve) => setImmediate(resolve))
      if (flushing) {
        await Promise.race([
          flushing,
          new Promise<void>((resolve) => {
            const timer = clock.setTimeout(resolve, Math.max(timeout, internals.options.commandTimeoutMs))
            flushing?.finally(() => clock.clearTimeout(timer))
          }),
        ])
      }
      closed = true
      if (heartbeatTimer !== undefined) clock.clearTimeout(heartbeatTimer)
      if (settleRetryTimer !== undefined) clock.clearTimeout(settleRetryTimer)
      heartbeatTimer = settleRetryTimer = undefined
      internals.workers.delete(self)
      events.clear()
    },
  }
  internals.workers.add(self)
  heartbeatTimer = clock.setTimeout(heartbeat, heartbeatMs)
  pump()
  return self
}
