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
  /**
   * Most jobs leased in one round trip (each round trip also acknowledges the jobs
   * finished since the last one). A worker keeps up to two calls in flight, so slots
   * that free up while a claim is out are filled by the next one.
   * @default concurrency (capped at 1000)
   */
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
  /** The timeout shared by the jobs of one claim that have the same per-attempt timeout. */
  timeouts: TimeoutGroup | undefined
  startedAt: number
  runMs: number
  /** The handler has finished (or was abandoned). */
  done: boolean
  /** Heartbeat learned the lease moved on: settling would be refused. */
  lost: boolean
}

/** One timer for the jobs of a claim with the same timeout: they all started in the same tick. */
interface TimeoutGroup {
  ms: number
  leases: Lease[]
  /** Leases of the group still running; the timer is cleared when it drops to 0. */
  left: number
  timer: TimerHandle | undefined
}

/** Store calls a worker keeps in flight: one batch runs while the next is claimed. */
const MAX_IN_FLIGHT = 2
/** Retry delay of a failed acknowledgement, in ms. */
const ACK_RETRY_MS = 200

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

/** A job as its handler sees it: a class, so `signal` is one shared getter rather than a closure per job. */
class LeasedJob implements Job {
  readonly id: string
  readonly name: string
  readonly data: unknown
  readonly attempt: number
  readonly maxAttempts: number
  readonly priority: number
  readonly #lease: Lease
  constructor(lease: Lease, data: unknown, priority: number) {
    this.id = lease.id
    this.name = lease.name
    this.data = data
    this.attempt = lease.attempt
    this.maxAttempts = lease.maxAttempts
    this.priority = priority
    this.#lease = lease
  }
  get signal(): AbortSignal {
    const lease = this.#lease
    lease.controller ??= new AbortController()
    return lease.controller.signal
  }
}

const NO_JOBS: ClaimedJob[] = []
const NO_IDS: string[] = []

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
  const lastErrors = new Map<string, unknown>()
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
  /** Store calls in flight, of which claims; slots the claims in flight may fill. */
  let inFlight = 0
  let claimsInFlight = 0
  let reserved = 0
  /** The last claim came back short: claim again when the poll timer fires (or along with acknowledgements). */
  let idle = false
  let stepScheduled = false
  let pollTimer: TimerHandle | undefined
  let retryTimer: TimerHandle | undefined
  let heartbeatTimer: TimerHandle | undefined
  let claimBackoff = 0
  /** Settlements not sent yet: they go with the next claim (or alone when no claim is due). */
  let pending: Settlement[] = []
  let onDrained: (() => void) | undefined
  let onQuiet: (() => void) | undefined

  const schedulePoll = (ms: number) => {
    if (pollTimer !== undefined || stopping) return
    pollTimer = clock.setTimeout(() => {
      pollTimer = undefined
      idle = false
      step()
    }, ms)
  }

  /**
   * Sends what is due: acknowledgements and, while there are free slots, a claim, in
   * one call; up to {@link MAX_IN_FLIGHT} calls at once.
   */
  const step = () => {
    while (!closed && inFlight < MAX_IN_FLIGHT && retryTimer === undefined) {
      const free = stopping || paused ? 0 : concurrency - running - reserved
      const count = free > 0 && (!idle || pending.length > 0) ? Math.min(free, batchSize) : 0
      if (count === 0 && pending.length === 0) break
      send(count)
    }
    if (inFlight === 0 && pending.length === 0) onQuiet?.()
  }

  /**
   * Steps once the current burst of completions is over: jobs that finish in the same
   * tick share one call instead of a call for the first and another for the rest.
   */
  const scheduleStep = () => {
    if (stepScheduled) return
    stepScheduled = true
    setImmediate(() => {
      stepScheduled = false
      step()
    })
  }

  const send = (count: number) => {
    const acks = pending
    pending = []
    inFlight++
    reserved += count
    let call: Promise<ClaimResult>
    if (count > 0) {
      claimsInFlight++
      if (pollTimer !== undefined) {
        clock.clearTimeout(pollTimer)
        pollTimer = undefined
      }
      const maxPriority = internals.claimCeiling()
      if (maxPriority !== undefined) counters.deferredClaims++
      call = store.claim({ count, leaseMs, maxPriority, settle: acks })
    } else {
      call = store.settle(acks).then((settled) => ({ now: 0, jobs: NO_JOBS, stalled: NO_IDS, settled }))
    }
    call.then(
      (result) => landed(result, count, acks),
      (error: unknown) => failed(error, count, acks),
    )
  }

  const landed = (result: ClaimResult, count: number, acks: Settlement[]) => {
    inFlight--
    reserved -= count
    if (count > 0) claimsInFlight--
    for (let i = 0; i < acks.length; i++) report(acks[i]!, result.settled[i] === true)
    if (count > 0) {
      claimBackoff = 0
      onClaimed(result, count)
    }
    scheduleStep()
  }

  const failed = (error: unknown, count: number, acks: Settlement[]) => {
    inFlight--
    reserved -= count
    let retryInMs = ACK_RETRY_MS
    if (count > 0) {
      claimsInFlight--
      claimErrors++
      claimBackoff = Math.min(2_000, Math.max(100, claimBackoff * 2))
      retryInMs = claimBackoff
    }
    if (acks.length > 0) {
      settleErrors++
      pending = acks.concat(pending)
      retryInMs = Math.min(retryInMs, ACK_RETRY_MS)
    }
    logger.warn(
      { err: error, retryInMs, claim: count, acknowledgements: acks.length },
      count > 0 ? 'claim failed; retrying' : 'acknowledgement failed; retrying',
    )
    emit('error', { error })
    if (closed || retryTimer !== undefined) return
    retryTimer = clock.setTimeout(() => {
      retryTimer = undefined
      step()
    }, retryInMs)
  }

  const onClaimed = (result: ClaimResult, count: number) => {
    for (const id of result.stalled) {
      counters.stalled++
      emit('stalled', { id })
      if (channels.stalled.hasSubscribers) channels.stalled.publish({ queue: queue.name, id })
    }
    const jobs = result.jobs
    // Every job of the batch starts now: one clock read, and one timer per distinct timeout.
    const startedAt = clock.now()
    let groups: Map<number, TimeoutGroup> | undefined
    for (let i = 0; i < jobs.length; i++) {
      const lease = start(jobs[i]!, result.now, startedAt)
      if (lease === undefined || lease.done) continue
      const ms = lease.timeouts?.ms
      if (ms === undefined) continue
      groups ??= new Map()
      let group = groups.get(ms)
      if (group) lease.timeouts = group
      else {
        group = lease.timeouts!
        groups.set(ms, group)
      }
      group.leases.push(lease)
      group.left++
    }
    if (groups) for (const group of groups.values()) armTimeout(group)
    if (stopping) {
      // Claimed while close() began: hand them straight back.
      for (const job of jobs) abandon(held.get(job.id))
      return
    }
    if (jobs.length < count) {
      idle = true
      schedulePoll(options.pollIntervalMs)
    } else idle = false
  }

  const armTimeout = (group: TimeoutGroup) => {
    if (group.left === 0) return
    group.timer = clock.setTimeout(() => {
      group.timer = undefined
      for (const lease of group.leases) {
        if (lease.done) continue
        const error = new TimeoutError(`Job "${lease.name}" (${lease.id}) timed out after ${group.ms} ms`)
        lease.controller?.abort(error)
        finish(lease, false, error)
      }
    }, group.ms)
  }

  /** Leaves the lease's timeout group; the last one out clears its timer. */
  const leaveTimeout = (lease: Lease) => {
    const group = lease.timeouts
    if (group === undefined) return
    lease.timeouts = undefined
    if (--group.left === 0 && group.timer !== undefined) {
      clock.clearTimeout(group.timer)
      group.timer = undefined
    }
  }

  const start = (claimed: ClaimedJob, now: number, startedAt: number): Lease | undefined => {
    let payload: JobPayload
    try {
      payload = JSON.parse(claimed.payload) as JobPayload
    } catch (error) {
      enqueueSettle({ id: claimed.id, token: claimed.token, outcome: 'dead', error: errorJson(error) })
      return undefined
    }
    const lease: Lease = {
      id: claimed.id,
      token: claimed.token,
      name: payload.n,
      attempt: claimed.attempt,
      maxAttempts: payload.m,
      controller: undefined,
      // A placeholder group: onClaimed merges the batch's leases with the same timeout into one.
      timeouts: payload.t > 0 ? { ms: payload.t, leases: [], left: 0, timer: undefined } : undefined,
      startedAt,
      runMs: 0,
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
      return lease
    }
    const job = new LeasedJob(lease, payload.d, payload.p)
    let outcome: unknown
    try {
      outcome = handler(job)
    } catch (error) {
      finish(lease, false, error)
      return lease
    }
    if (
      outcome !== null &&
      (typeof outcome === 'object' || typeof outcome === 'function') &&
      typeof (outcome as PromiseLike<unknown>).then === 'function'
    ) {
      Promise.resolve(outcome).then(
        (value) => finish(lease, true, value),
        (error: unknown) => finish(lease, false, error),
      )
    } else finish(lease, true, outcome)
    return lease
  }

  const finish = (lease: Lease, ok: boolean, value: unknown) => {
    if (lease.done) return
    lease.done = true
    running--
    leaveTimeout(lease)
    lease.runMs = clock.now() - lease.startedAt
    internals.runTime.record(lease.runMs)
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
      lastErrors.set(lease.id, value)
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
    if (running === 0) onDrained?.()
    scheduleStep()
  }

  const enqueueSettle = (settlement: Settlement) => {
    pending.push(settlement)
    scheduleStep()
  }

  const report = (s: Settlement, accepted: boolean) => {
    const lease = held.get(s.id)
    if (lease?.token === s.token) held.delete(s.id)
    if (!accepted) {
      lastErrors.delete(s.id)
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
        const runMs = lease?.runMs ?? 0
        emit('completed', { id: s.id, name, attempt, runMs })
        if (channels.completed.hasSubscribers)
          channels.completed.publish({ queue: queue.name, id: s.id, name, runMs })
        break
      }
      case 'retry': {
        const error = lastErrors.get(s.id)
        lastErrors.delete(s.id)
        retries++
        counters.retries++
        emit('retrying', { id: s.id, name, attempt, delayMs: s.delayMs, error })
        break
      }
      case 'dead': {
        const error = lastErrors.get(s.id)
        lastErrors.delete(s.id)
        failures++
        counters.failures++
        emit('failed', { id: s.id, name, attempt, error })
        if (channels.failed.hasSubscribers)
          channels.failed.publish({ queue: queue.name, id: s.id, name, error })
        break
      }
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
    leaveTimeout(lease)
    lease.controller?.abort(
      new QueueClosedError('The worker closed before the job finished; it was handed back'),
    )
    if (!lease.lost) enqueueSettle({ id: lease.id, token: lease.token, outcome: 'release' })
  }

  const unsubscribe = store.onAvailable?.(() => {
    idle = false
    step()
  })
  const self: Worker = {
    on: events.on,
    pause() {
      paused = true
    },
    resume() {
      paused = false
      idle = false
      step()
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
      while (claimsInFlight > 0) await new Promise<void>((resolve) => setImmediate(resolve))
      step()
      if (inFlight > 0 || pending.length > 0) {
        // Flush acknowledgements and hand-backs (retrying while Redis is away), for a bounded time.
        await new Promise<void>((resolve) => {
          const timer = clock.setTimeout(resolve, Math.max(timeout, internals.options.commandTimeoutMs))
          onQuiet = () => {
            clock.clearTimeout(timer)
            resolve()
          }
        })
        onQuiet = undefined
      }
      closed = true
      if (heartbeatTimer !== undefined) clock.clearTimeout(heartbeatTimer)
      if (retryTimer !== undefined) clock.clearTimeout(retryTimer)
      heartbeatTimer = retryTimer = undefined
      internals.workers.delete(self)
      events.clear()
    },
  }
  internals.workers.add(self)
  heartbeatTimer = clock.setTimeout(heartbeat, heartbeatMs)
  step()
  return self
}
