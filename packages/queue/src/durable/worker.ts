// createWorker: the claim/run/acknowledge loop of a durable queue's consumer. Its types,
// argument checks, heartbeat, events and retry-or-dead decision live in files of their
// own, its leases in WorkerLeases; the per-job path (claim, start, finish, acknowledge),
// the per-claim timeouts and the state they share with pause, stats and close stay here,
// in one closure, for speed.
import { QueueClosedError, TimeoutError, type TimerHandle } from '@headroom/core'
import { UnknownHandlerError } from '../shared/errors.js'
import type { ClaimedJob, ClaimResult, Settlement } from '../store/job-store.js'
import { decodePayload, type JobSpec } from '../store/payload.js'
import type { WorkWaiter } from '../store/scheduling-store.js'
import { errorJson } from './error-json.js'
import { failureSettlement } from './failure-settlement.js'
import type { Lease, TimeoutGroup } from './lease.js'
import { LeaseHeartbeat } from './lease-heartbeat.js'
import { LeasedJob } from './leased-job.js'
import { linkOf } from './queue.js'
import type { Queue } from './queue-types.js'
import { processTrace, traceHandler } from './trace.js'
import { waitAtMost } from './wait-at-most.js'
import { WorkerEvents } from './worker-events.js'
import { WorkerLeases } from './worker-leases.js'
import { checkCloseOptions, parseWorkerArguments, type WorkerOptions } from './worker-options.js'
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
  const link = linkOf(queue, 'createWorker')
  if (link.closed) throw new QueueClosedError(`Queue "${queue.name}" is closed`)
  const options = parseWorkerArguments(handlers, input)
  const { store, clock, logger, metrics } = link
  const { leaseMs, heartbeatMs, retry } = link.options
  const concurrency = options.concurrency
  const batchSize = options.batchSize
  const leases = new WorkerLeases()
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

  const events = new WorkerEvents({
    queueName: queue.name,
    logger,
    queueEvents: link.events,
    metrics,
    leases,
  })
  const heartbeat = new LeaseHeartbeat({
    clock,
    store,
    logger,
    leases,
    leaseMs,
    heartbeatMs,
    unsent: (id) => pending.some((s) => s.id === id),
    onLost: (lease) => events.lost(lease),
  })

  /** Per-attempt timeouts: one timer per group of leases claimed together with the same timeout. */
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
      const maxPriority = link.claimCeiling()
      if (maxPriority !== undefined) metrics.deferredClaim()
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
    for (let i = 0; i < acks.length; i++) events.report(acks[i]!, result.settled[i] === true)
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
    events.emit('error', { error })
    if (closed || retryTimer !== undefined) return
    retryTimer = clock.setTimeout(() => {
      retryTimer = undefined
      step()
    }, retryInMs)
  }

  const onClaimed = (result: ClaimResult, count: number) => {
    events.stalled(result.stalled)
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
      for (const job of jobs) abandon(leases.get(job.id))
      return
    }
    if (jobs.length < count) {
      idle = true
      let ms = Math.min(result.wakeInMs ?? options.pollIntervalMs, options.pollIntervalMs)
      if (link.claimCeiling() !== undefined) ms = Math.min(ms, SHEDDING_RECHECK_MS)
      // Jobs arrived while this claim was out (it may have missed them): claim again now.
      if (wokeUnclaimed) ms = 0
      wokeUnclaimed = false
      schedulePoll(ms)
      if (ms > 0) waitForWork(ms)
    } else idle = false
  }

  const start = (claimed: ClaimedJob, now: number, startedAt: number): Lease | undefined => {
    let spec: JobSpec
    try {
      spec = decodePayload(claimed.payload)
    } catch (error) {
      enqueueSettle({ id: claimed.id, token: claimed.token, outcome: 'dead', error: errorJson(error) })
      return undefined
    }
    const lease: Lease = {
      id: claimed.id,
      token: claimed.token,
      name: spec.name,
      attempt: claimed.attempt,
      maxAttempts: spec.maxAttempts,
      controller: undefined,
      // A placeholder group: onClaimed merges the batch's leases with the same timeout into one.
      timeouts:
        spec.timeoutMs > 0 ? { ms: spec.timeoutMs, leases: [], left: 0, timer: undefined } : undefined,
      startedAt,
      runMs: 0,
      done: false,
      lost: false,
    }
    // A job scheduler's job: schedule the scheduler's next slot (once, whoever claims it).
    if (spec.schedulerId !== undefined) link.repeats.claimed(spec, claimed.payload, now)
    leases.hold(lease)
    running++
    metrics.waited(now - claimed.readyAt)
    const handler = Object.hasOwn(handlers, spec.name) ? handlers[spec.name] : undefined
    if (!handler) {
      finish(
        lease,
        false,
        new UnknownHandlerError(`No handler for job "${spec.name}" on queue "${queue.name}"`),
      )
      return lease
    }
    const job = new LeasedJob(lease, spec.data, spec.priority, store)
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
    metrics.ran(lease.runMs)
    if (lease.lost) {
      leases.drop(lease.id)
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
      leases.failed(lease.id, value)
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
    on: (event, listener) => events.on(event, listener),
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
      held: leases.size,
      ...events.counts(),
      claimErrors,
      settleErrors,
      paused,
      closed: stopping,
    }),
    async close(closeOptions = {}) {
      checkCloseOptions(closeOptions)
      const timeout = closeOptions.timeout ?? options.closeTimeoutMs
      if (!(timeout >= 0)) {
        throw new TypeError(
          `Invalid close option "timeout": expected a number of ms >= 0 (received ${timeout})`,
        )
      }
      if (stopping) return
      stopping = true
      unsubscribe?.()
      waiter?.close()
      if (pollTimer !== undefined) clock.clearTimeout(pollTimer)
      pollTimer = undefined
      if (running > 0) {
        await waitAtMost(clock, timeout, (done) => {
          onDrained = done
        })
        onDrained = undefined
        for (const lease of leases.all()) abandon(lease)
      }
      // A claim in flight lands after this point and is handed back by onClaimed.
      while (claimsInFlight > 0) await new Promise<void>((resolve) => setImmediate(resolve))
      step()
      if (inFlight > 0 || pending.length > 0) {
        // Flush acknowledgements and hand-backs (retrying while Redis is away), for a bounded time.
        await waitAtMost(clock, Math.max(timeout, link.options.commandTimeoutMs), (done) => {
          onQuiet = done
        })
        onQuiet = undefined
      }
      closed = true
      heartbeat.stop()
      if (retryTimer !== undefined) clock.clearTimeout(retryTimer)
      retryTimer = undefined
      link.leave(self)
      events.clear()
    },
  }
  link.join(self)
  heartbeat.start()
  step()
  return self
}
