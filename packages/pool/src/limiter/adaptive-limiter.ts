import {
  ClosedError,
  childLogger,
  createCallOptionsCheck,
  createEmitter,
  createLatencyHistogram,
  parseOptions,
  type TimerHandle,
} from '@headroom/core'
import { createLimitAlgorithm } from '../algorithms/limit-algorithm.js'
import { poolChannels } from '../shared/channels.js'
import { LimitExceededError, type RejectReason } from '../shared/errors.js'
import { monotonicNow } from '../shared/timing.js'
import { type AdaptiveLimiterOptions, adaptiveLimiterOptionsSchema } from './options.js'
import { type Partition, Partitions, type Waiter } from './partitions.js'
import { type RunTraceContext, runTrace } from './trace.js'
import type { AcquireOptions, AdaptiveLimiter, Lease, LimitChangeReason, LimiterEvents } from './types.js'

type Outcome = 'success' | 'dropped' | 'ignored'

// Per-call options sit on the hot path: a key check, not zod.
const acquireShape = { partition: 'string', signal: 'AbortSignal' } as const
const checkRunOptions = createCallOptionsCheck('run', acquireShape)
const checkAcquireOptions = createCallOptionsCheck('acquire', acquireShape)

/** A no-load probe that cannot drain or measure in this long gives up (a hung call, no traffic). */
const PROBE_GIVE_UP_MS = 5_000
/** On a slow backend a probe ends after this long, with at least PROBE_MIN_SAMPLES. */
const PROBE_MEASURE_MS = 1_000
const PROBE_MIN_SAMPLES = 10

/**
 * Creates an adaptive concurrency limiter: at most `limit` calls run at once, and the
 * limit follows the latency of the work through MinRTT (a gradient against the RTT
 * measured at low concurrency, as Envoy does), Gradient2, Vegas or AIMD (Netflix
 * concurrency-limits). Calls over the limit wait in a bounded queue, by priority
 * partition, and are refused with a {@link LimitExceededError} after `maxWaitMs`, or
 * after `congestedWaitMs` once the queue stands.
 *
 * @example
 * const limiter = createAdaptiveLimiter({
 *   min: 2, max: 64, initial: 8, maxWaitMs: 250,
 *   partitions: { interactive: 0.9, batch: 0.1 },
 * })
 * const rows = await limiter.run(() => pool.query('SELECT 1'), { partition: 'interactive' })
 */
export function createAdaptiveLimiter(options: AdaptiveLimiterOptions = {}): AdaptiveLimiter {
  const config = parseOptions('createAdaptiveLimiter', adaptiveLimiterOptionsSchema, options)
  const { clock, isDrop, name } = config
  const now = monotonicNow(clock)
  const logger = childLogger(config.logger, { component: 'headroom:pool:limiter', name })
  const events = createEmitter<LimiterEvents>((error, event) =>
    logger.error({ err: error, event }, 'limiter listener threw'),
  )
  const algorithm = createLimitAlgorithm(config.algorithm, config.initial, {
    minLimit: config.min,
    maxLimit: config.max,
  })

  let limit = Math.max(1, Math.floor(algorithm.limit))
  let inflight = 0
  // When the queue last went from empty to waiting: a queue that stands longer than
  // maxWaitMs is congested, and waits are cut to congestedWaitMs.
  let queueBusySince = 0
  let closed = false
  const completed = { success: 0, dropped: 0, ignored: 0 }
  const rejected: Record<RejectReason, number> = { 'queue-full': 0, timeout: 0, closed: 0 }
  let admitted = 0
  const rtt = createLatencyHistogram()
  const wait = createLatencyHistogram()
  const waiting = new Partitions(config.partitions, limit)

  // The no-load probe, as in Envoy's adaptive concurrency filter: every `intervalMs`
  // (jittered) the limit is pinned to `probe.size` until the work in flight drains to it,
  // then the mean RTT of `samples` calls that started at that concurrency (or of those that
  // ran in 1 s, at least 10, on a slow backend) is the algorithm's baseline. Without it an
  // algorithm under sustained overload never sees an uncontended call, and takes queueing
  // latency for normal. Driven by completions: no timer. AIMD has no baseline to measure,
  // so probing it would only cost throughput.
  const probe = algorithm.name === 'aimd' ? false : config.probe
  let probePhase: 'idle' | 'draining' | 'measuring' = 'idle'
  // The first probe runs on the first load: the baseline is unknown until then.
  let nextProbeAt = now()
  let probeStartedAt = 0
  let probeMeasureFrom = 0
  let probeSum = 0
  let probeCount = 0
  let noLoadRtt = 0

  // One timer for every waiter's deadline rather than one each; it is set for the earliest.
  let deadlineTimer: TimerHandle | undefined
  let deadlineTimerAt = Number.POSITIVE_INFINITY

  const setLimit = (estimate: number, reason: LimitChangeReason) => {
    const next = Math.max(1, Math.floor(estimate))
    if (next === limit) return
    const old = limit
    limit = next
    waiting.setLimit(limit)
    logger.debug({ old, new: next, reason }, 'concurrency limit changed')
    if (events.has('limit')) events.emit('limit', { name, old, new: next, reason })
    if (poolChannels.limit.hasSubscribers) poolChannels.limit.publish({ name, old, new: next, reason })
    if (next > old) dispatch()
  }

  const reject = (partition: Partition, reason: RejectReason, error: unknown) => {
    rejected[reason]++
    partition.refused()
    if (events.has('reject')) events.emit('reject', { name, partition: partition.name, reason })
    if (poolChannels.reject.hasSubscribers)
      poolChannels.reject.publish({ name, partition: partition.name, reason })
    return error
  }

  const endProbe = (at: number) => {
    probePhase = 'idle'
    if (probe) nextProbeAt = at + probe.intervalMs * (0.85 + Math.random() * 0.3)
    setLimit(algorithm.limit, 'restore')
  }

  /**
   * Starts a probe when one is due and there is load above the probe size to take away
   * (with less, the calls already run uncontended). Returns true when it started.
   */
  const maybeStartProbe = (at: number): boolean => {
    if (!probe || at < nextProbeAt || inflight + waiting.queued <= probe.size) return false
    probePhase = inflight <= probe.size ? 'measuring' : 'draining'
    probeStartedAt = at
    probeMeasureFrom = at
    probeSum = 0
    probeCount = 0
    return true
  }

  /** One call completed during a probe (`inflight` is after it left). */
  const probeCompleted = (at: number, startedAt: number, elapsed: number, success: boolean) => {
    if (!probe) return
    if (at - probeStartedAt > PROBE_GIVE_UP_MS) return endProbe(at)
    if (probePhase === 'draining') {
      if (inflight <= probe.size) {
        probePhase = 'measuring'
        probeMeasureFrom = at
      }
      return
    }
    // Only calls that started after the drain ran at the probe's concurrency.
    if (!success || startedAt < probeMeasureFrom) return
    probeSum += elapsed
    probeCount++
    if (
      probeCount < probe.samples &&
      (probeCount < PROBE_MIN_SAMPLES || at - probeMeasureFrom < PROBE_MEASURE_MS)
    )
      return
    noLoadRtt = probeSum / probeCount
    algorithm.observeNoLoadRtt(noLoadRtt)
    endProbe(at)
  }

  /** Frees a slot and feeds the outcome to the algorithm. */
  const complete = (partition: Partition, startedAt: number, inflightAtStart: number, outcome: Outcome) => {
    inflight--
    partition.release()
    completed[outcome]++
    const probing = probePhase !== 'idle'
    if (outcome !== 'ignored' || probing) {
      const at = now()
      const elapsed = at - startedAt
      const dropped = outcome === 'dropped'
      if (outcome === 'success') rtt.record(elapsed)
      if (probing) {
        // While probing the limit stays pinned; a drop still counts against the estimate.
        if (dropped) algorithm.update({ rtt: elapsed, inflight: inflightAtStart, dropped })
        probeCompleted(at, startedAt, elapsed, outcome === 'success')
      } else if (outcome !== 'ignored') {
        const estimate = algorithm.update({ rtt: elapsed, inflight: inflightAtStart, dropped })
        if (probe && maybeStartProbe(at)) setLimit(Math.min(estimate, probe.size), 'probe')
        else setLimit(estimate, dropped ? 'drop' : 'sample')
      }
    }
    if (waiting.queued > 0) dispatch()
  }

  const take = (partition: Partition) => {
    inflight++
    partition.admit()
    admitted++
  }

  const makeLease = (partition: Partition): Lease => {
    const startedAt = now()
    const inflightAtStart = inflight
    let done = false
    const finish = (outcome: Outcome) => {
      if (done) return
      done = true
      complete(partition, startedAt, inflightAtStart, outcome)
    }
    return {
      partition: partition.name,
      success: () => finish('success'),
      dropped: () => finish('dropped'),
      ignore: () => finish('ignored'),
    }
  }

  /** Runs `fn` in a slot already taken: no Lease object, one promise hop. */
  const execute = <T>(partition: Partition, fn: () => Promise<T> | T): Promise<T> => {
    const startedAt = now()
    const inflightAtStart = inflight
    let result: Promise<T> | T
    try {
      result = fn()
    } catch (error) {
      complete(partition, startedAt, inflightAtStart, isDrop(error) ? 'dropped' : 'ignored')
      return Promise.reject(error)
    }
    return Promise.resolve(result).then(
      (value) => {
        complete(partition, startedAt, inflightAtStart, 'success')
        return value
      },
      (error: unknown) => {
        complete(partition, startedAt, inflightAtStart, isDrop(error) ? 'dropped' : 'ignored')
        throw error
      },
    )
  }

  const disarmDeadlines = () => {
    if (deadlineTimer === undefined) return
    clock.clearTimeout(deadlineTimer)
    deadlineTimer = undefined
    deadlineTimerAt = Number.POSITIVE_INFINITY
  }

  /** Sets the deadline timer for the earliest waiter (after one left early, or a new one came). */
  const armDeadlines = () => {
    const earliest = waiting.earliestDeadline()
    if (earliest === deadlineTimerAt) return
    disarmDeadlines()
    deadlineTimerAt = earliest
    if (earliest === Number.POSITIVE_INFINITY) return
    deadlineTimer = clock.setTimeout(expireWaiters, Math.max(0, earliest - now()))
  }

  function expireWaiters(): void {
    deadlineTimer = undefined
    deadlineTimerAt = Number.POSITIVE_INFINITY
    const at = now()
    for (let waiter = waiting.shiftExpired(at); waiter; waiter = waiting.shiftExpired(at)) {
      const detail = `no slot within ${config.maxWaitMs} ms (limit ${limit})`
      const partition = waiter.partition
      waiter.reject(reject(partition, 'timeout', new LimitExceededError('timeout', partition.name, detail)))
    }
    armDeadlines()
  }

  function dispatch(): void {
    while (waiting.queued > 0 && inflight < limit) {
      const waiter = waiting.next()
      if (!waiter) return
      const partition = waiter.partition
      const at = now()
      const waited = at - waiter.enqueuedAt
      // A standing queue (CoDel): the slot goes to a call that has not waited long yet.
      if (waited > config.congestedWaitMs && at - queueBusySince >= config.maxWaitMs) {
        const detail = `waited ${Math.round(waited)} ms in a queue standing for over ${config.maxWaitMs} ms (congestedWaitMs ${config.congestedWaitMs})`
        waiter.reject(reject(partition, 'timeout', new LimitExceededError('timeout', partition.name, detail)))
        continue
      }
      wait.record(waited)
      take(partition)
      waiter.start()
    }
    if (waiting.queued === 0) disarmDeadlines()
  }

  /** Queues a call, or refuses it at once; `start` runs when it gets a slot. */
  const enqueue = (
    partition: Partition,
    signal: AbortSignal | undefined,
    start: () => void,
    rejectWait: (error: unknown) => void,
  ) => {
    const queued = waiting.queued
    if (config.maxWaitMs === 0 || queued >= config.maxQueue) {
      const reason = config.maxWaitMs === 0 ? 'timeout' : 'queue-full'
      const detail = reason === 'timeout' ? `limit ${limit} reached` : `${queued} calls already waiting`
      rejectWait(reject(partition, reason, new LimitExceededError(reason, partition.name, detail)))
      return
    }
    const enqueuedAt = now()
    if (queued === 0) queueBusySince = enqueuedAt
    const deadline = enqueuedAt + config.maxWaitMs
    if (!signal) {
      waiting.enqueue(partition, { deadline, enqueuedAt, start, reject: rejectWait })
    } else {
      const onAbort = () => {
        if (!waiting.cancel(waiter)) return
        rejectWait(signal.reason)
        armDeadlines()
      }
      const waiter: Waiter = waiting.enqueue(partition, {
        deadline,
        enqueuedAt,
        start: () => {
          signal.removeEventListener('abort', onAbort)
          start()
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort)
          rejectWait(error)
        },
      })
      signal.addEventListener('abort', onAbort, { once: true })
    }
    // A new waiter's deadline is never the earliest while a timer runs.
    if (deadlineTimer === undefined) armDeadlines()
  }

  /** Where a call goes: its partition, or why it cannot go anywhere. */
  const admission = (callOptions: AcquireOptions | undefined): Partition | Error => {
    const partition = waiting.lookup(callOptions?.partition)
    if (partition instanceof TypeError) return partition
    if (closed) return reject(partition, 'closed', new ClosedError('The limiter is closed')) as Error
    return partition
  }

  const acquire = (acquireOptions?: AcquireOptions): Promise<Lease> => {
    if (acquireOptions !== undefined) {
      try {
        checkAcquireOptions(acquireOptions)
      } catch (error) {
        return Promise.reject(error)
      }
    }
    const partition = admission(acquireOptions)
    if (partition instanceof Error) return Promise.reject(partition)
    const signal = acquireOptions?.signal
    if (signal?.aborted) return Promise.reject(signal.reason)
    if (inflight < limit && waiting.queued === 0) {
      take(partition)
      return Promise.resolve(makeLease(partition))
    }
    return new Promise<Lease>((resolve, rejectWait) =>
      enqueue(partition, signal, () => resolve(makeLease(partition)), rejectWait),
    )
  }

  const run = <T>(fn: () => Promise<T> | T, runOptions?: AcquireOptions): Promise<T> => {
    const partition = admission(runOptions)
    if (partition instanceof Error) return Promise.reject(partition)
    const signal = runOptions?.signal
    if (signal?.aborted) return Promise.reject(signal.reason)
    // The fast path: a free slot and nobody ahead, so no queue entry and no extra promise.
    if (inflight < limit && waiting.queued === 0) {
      take(partition)
      return execute(partition, fn)
    }
    return new Promise<T>((resolve, rejectWait) =>
      enqueue(partition, signal, () => execute(partition, fn).then(resolve, rejectWait), rejectWait),
    )
  }

  // The span point: untraced, a call is `run` behind one hasSubscribers read.
  const tracedRun = <T>(fn: () => Promise<T> | T, runOptions?: AcquireOptions): Promise<T> => {
    const context: RunTraceContext = {
      limiter: name,
      partition: runOptions?.partition,
      waitMs: undefined,
    }
    const calledAt = now()
    const timed = () => {
      context.waitMs = now() - calledAt
      return fn()
    }
    return runTrace.tracePromise(() => run(timed, runOptions), context)
  }

  return {
    on: events.on,
    run: <T>(fn: () => Promise<T> | T, runOptions?: AcquireOptions): Promise<T> => {
      if (runOptions !== undefined) {
        try {
          checkRunOptions(runOptions)
        } catch (error) {
          return Promise.reject(error)
        }
      }
      return runTrace.hasSubscribers ? tracedRun(fn, runOptions) : run(fn, runOptions)
    },
    acquire,
    get limit() {
      return limit
    },
    get inflight() {
      return inflight
    },
    stats() {
      return {
        algorithm: algorithm.name,
        limit,
        estimate: algorithm.limit,
        noLoadRtt,
        probing: probePhase !== 'idle',
        inflight,
        queued: waiting.queued,
        admitted,
        rejected: { ...rejected },
        completed: { ...completed },
        rtt: rtt.summary(),
        wait: wait.summary(),
        partitions: waiting.stats(),
      }
    },
    close() {
      if (closed) return
      closed = true
      disarmDeadlines()
      for (const waiter of waiting.drain()) {
        const error = new ClosedError('The limiter was closed while waiting')
        waiter.reject(reject(waiter.partition, 'closed', error))
      }
      events.clear()
    },
  }
}

/**
 * @deprecated Use {@link createAdaptiveLimiter}: `createConcurrencyLimiter` is also the
 * name of `@headroom/rate-limit`'s Redis lease limiter. This alias is removed in the next minor.
 */
export const createConcurrencyLimiter: typeof createAdaptiveLimiter = createAdaptiveLimiter
