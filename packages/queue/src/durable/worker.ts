// createWorker: the claim/run/acknowledge loop of a durable queue's consumer. Its types,
// argument checks, lease timeouts, heartbeat, events and retry-or-dead decision live in
// files of their own; the per-job path (claim, start, finish, acknowledge) and the state it
// shares with pause, stats and close stay here, in one closure, for speed.
import { QueueClosedError, type TimerHandle } from '@headroom/core'
import { UnknownHandlerError } from '../shared/errors.js'
import type { ClaimedJob, ClaimResult, JobPayload, Settlement } from '../store/job-store.js'
import type { WorkWaiter } from '../store/scheduling-store.js'
import { errorJson } from './error-json.js'
import { failureSettlement } from './failure-settlement.js'
import { createProgressReporter } from './job-progress.js'
import type { Lease, TimeoutGroup } from './lease.js'
import { createLeaseHeartbeat } from './lease-heartbeat.js'
import { createLeaseTimeouts } from './lease-timeouts.js'
import { LeasedJob } from './leased-job.js'
import { internalsOf } from './queue-internals.js'
import type { Queue } from './queue-types.js'
import { processTrace, traceHandler } from './trace.js'
import { waitAtMost } from './wait-at-most.js'
import { createWorkerEvents } from './worker-events.js'
import { parseWorkerArguments, type WorkerOptions } from './worker-options.js'
import type { JobHandler, Worker } from './worker-types.js'

/** Store calls a worker keeps in flight: one batch runs while the next is claimed. */
const MAX_IN_FLIGHT = 2
/** Retry delay of a failed acknowledgement, in ms. */
const ACK_RETRY_MS = 200
/** Longest idle wait while load shedding defers claims: the health status is re-read this often. */
const SHEDDING_RECHECK_MS = 1_000

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
  const options = parseWorkerArguments(handlers, input)
  const { store, clock, logger, counters } = internals
  const { leaseMs, retry } = internals.options
  const heartbeatMs = internals.options.heartbeatMs ?? Math.floor(leaseMs / 3)
  const concurrency = options.concurrency
  const batchSize = Math.min(options.batchSize ?? concurrency, 1000)
  const held = new Map<string, Lease>()
  const lastErrors = new Map<string, unknown>()
  let running = 0
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
  let pollAt = 0
  let retryTimer: TimerHandle | undefined
  let claimBackoff = 0
  /** Settlements not sent yet: they go with the next claim (or alone when no claim is due). */
  let pending: Settlement[] = []
  let onDrained: (() => void) | undefined
  let onQuiet: (() => void) | undefined
  // Idle wake-ups: an idle worker blocks on the store (a Redis blocking pop) instead of polling.
  let waiter: WorkWaiter | undefined
  let waiting = false
  /** The next claim follows a wake-up (see ClaimOptions.woke). */
  let woke = false
  /** A wake-up came while a claim was in flight: if that claim comes back short, claim again. */
  let wokeUnclaimed = false

  const progress = createProgressReporter(store)
  const events = createWorkerEvents({
    queueName: queue.name,
    logger,
    queueEvents: internals.events,
    counters,
    held,
    lastErrors,
  })
  const { emit, report, stalled } = events
  const { armTimeout, leaveTimeout } = createLeaseTimeouts(clock, (lease, error) =>
    finish(lease, false, error),
  )
  const heartbeat = createLeaseHeartbeat({
    clock,
    store,
    logger,
    held,
    leaseMs,
    heartbeatMs,
    unsent: (id) => pending.some((s) => s.id === id),
    onLost: events.lost,
  })

  const schedulePoll = (ms: number) => {
    if (stopping) return
    if (pollTimer !== undefined) {
      // A sooner wake-up (a delayed job due, the rate limit freeing) replaces a later one.
      if (pollAt <= clock.now() + ms) return
      clock.clearTimeout(pollTimer)
    }
    pollAt = clock.now() + ms
    pollTimer = clock.setTimeout(() => {
      pollTimer = undefined
      idle = false
      woke = true
      step()
    }, ms)
  }

  /** Blocks on the store until work may be there or `ms` pass (a timer covers a shorter wait begun later). */
  const waitForWork = (ms: number) => {
    if (waiting || stopping) return
    waiting = true
    waiter ??= store.createWaiter()
    waiter.wait(ms).then(() => {
      waiting = false
      if (!idle || stopping) return
      if (pollTimer !== undefined) clock.clearTimeout(pollTimer)
      pollTimer = undefined
      idle = false
      woke = true
      step()
    })
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
      call = store.claim({ count, leaseMs, maxPriority, settle: acks, woke })
      woke = false
      wokeUnclaimed = false
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
    stalled(result.stalled)
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
      let ms = Math.min(result.wakeInMs ?? options.pollIntervalMs, options.pollIntervalMs)
      if (internals.claimCeiling() !== undefined) ms = Math.min(ms, SHEDDING_RECHECK_MS)
      // Jobs arrived while this claim was out (it may have missed them): claim again now.
      if (wokeUnclaimed) ms = 0
      wokeUnclaimed = false
      schedulePoll(ms)
      if (ms > 0) waitForWork(ms)
    } else idle = false
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
    // A job scheduler's job: schedule the scheduler's next slot (once, whoever claims it).
    if (payload.r !== undefined) internals.repeats.claimed(payload, claimed.payload, now)
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
    const job = new LeasedJob(lease, payload.d, payload.p, progress)
    let outcome: unknown
    try {
      outcome = processTrace.hasSubscribers
        ? traceHandler(handler, job, {
            queue: queue.name,
            jobId: lease.id,
            job: lease.name,
            attempt: lease.attempt,
          })
        : handler(job)
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
      enqueueSettle(failureSettlement(lease, value, retry))
    }
    if (running === 0) onDrained?.()
    scheduleStep()
  }

  const enqueueSettle = (settlement: Settlement) => {
    pending.push(settlement)
    scheduleStep()
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
    wokeUnclaimed = claimsInFlight > 0
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
      ...events.counts(),
      claimErrors,
      settleErrors,
      paused,
      closed: stopping,
    }),
    async close(closeOptions = {}) {
      if (stopping) return
      stopping = true
      unsubscribe?.()
      waiter?.close()
      if (pollTimer !== undefined) clock.clearTimeout(pollTimer)
      pollTimer = undefined
      const timeout = closeOptions.timeout ?? options.closeTimeoutMs
      if (running > 0) {
        await waitAtMost(clock, timeout, (done) => {
          onDrained = done
        })
        onDrained = undefined
        for (const lease of [...held.values()]) abandon(lease)
      }
      // A claim in flight lands after this point and is handed back by onClaimed.
      while (claimsInFlight > 0) await new Promise<void>((resolve) => setImmediate(resolve))
      step()
      if (inFlight > 0 || pending.length > 0) {
        // Flush acknowledgements and hand-backs (retrying while Redis is away), for a bounded time.
        await waitAtMost(clock, Math.max(timeout, internals.options.commandTimeoutMs), (done) => {
          onQuiet = done
        })
        onQuiet = undefined
      }
      closed = true
      heartbeat.stop()
      if (retryTimer !== undefined) clock.clearTimeout(retryTimer)
      retryTimer = undefined
      internals.workers.delete(self)
      events.clear()
    },
  }
  internals.workers.add(self)
  heartbeat.start()
  step()
  return self
}
