import { ClosedError, childLogger, createLatencyHistogram, parseOptions, systemClock } from '@headroom/core'
import { createLimitAlgorithm } from '../algorithms/limit-algorithm.js'
import { isDropError } from '../shared/drops.js'
import { LimitExceededError, type RejectReason } from '../shared/errors.js'
import { monotonicNow } from '../shared/timing.js'
import { createLimiterEvents } from './events.js'
import { type ConcurrencyLimiterOptions, limiterOptionsSchema } from './options.js'
import {
  createPartitions,
  headOf,
  nextPartition,
  type Partition,
  partitionLookup,
  partitionStats,
  updateGuarantees,
  type Waiter,
} from './partitions.js'
import { createLimiterProbe } from './probe.js'
import { type RunTraceContext, runTrace } from './trace.js'
import type { AcquireOptions, ConcurrencyLimiter, Lease, LimitChangeReason } from './types.js'
import { createWaiterDeadlines } from './waiter-deadlines.js'

/**
 * Creates an adaptive concurrency limiter: at most `limit` calls run at once, and the
 * limit follows the latency of the work through MinRTT (a gradient against the RTT
 * measured at low concurrency, as Envoy does), Gradient2, Vegas or AIMD (Netflix
 * concurrency-limits). Calls over the limit wait in a bounded queue, by priority
 * partition, and are refused with a {@link LimitExceededError} after `maxWaitMs`, or
 * after `congestedWaitMs` once the queue stands.
 *
 * @example
 * const limiter = createConcurrencyLimiter({
 *   min: 2, max: 64, initial: 8, maxWaitMs: 250,
 *   partitions: { interactive: 0.9, batch: 0.1 },
 * })
 * const rows = await limiter.run(() => pool.query('SELECT 1'), { partition: 'interactive' })
 */
export function createConcurrencyLimiter(options: ConcurrencyLimiterOptions = {}): ConcurrencyLimiter {
  const config = parseOptions('createConcurrencyLimiter', limiterOptionsSchema, options)
  const clock = options.clock ?? systemClock
  const now = monotonicNow(clock)
  const logger = childLogger(options.logger, { component: 'headroom:pool:limiter', name: config.name })
  const isDrop = options.isDrop ?? isDropError
  const events = createLimiterEvents(config.name, logger)
  const algorithm = createLimitAlgorithm(options.algorithm ?? 'minrtt', config.initial, {
    minLimit: config.min,
    maxLimit: config.max,
  })
  // AIMD has no baseline to measure: probing it would only cost throughput.
  const probe =
    config.probe === false || algorithm.name === 'aimd'
      ? undefined
      : createLimiterProbe({
          intervalMs: config.probe.intervalMs,
          size: Math.max(config.min, config.probe.size ?? 2),
          samples: config.probe.samples,
          algorithm,
          now,
        })

  let limit = Math.max(1, Math.floor(algorithm.limit))
  let inflight = 0
  let queued = 0
  // When the queue last went from empty to waiting: a queue that stands longer than
  // maxWaitMs is congested, and waits are cut to congestedWaitMs.
  let queueBusySince = 0
  let closed = false
  const completed = { success: 0, dropped: 0, ignored: 0 }
  const rejected: Record<RejectReason, number> = { 'queue-full': 0, timeout: 0, closed: 0 }
  let admitted = 0
  const rtt = createLatencyHistogram()
  const wait = createLatencyHistogram()

  const partitions = createPartitions(config.partitions)
  const partitionOf = partitionLookup(partitions)
  updateGuarantees(partitions, limit)

  const setLimit = (estimate: number, reason: LimitChangeReason) => {
    const next = Math.max(1, Math.floor(estimate))
    if (next === limit) return
    const old = limit
    limit = next
    updateGuarantees(partitions, limit)
    events.limitChanged(old, next, reason)
    if (next > old) dispatch()
  }

  const reject = (partition: Partition, reason: RejectReason, error: unknown) => {
    rejected[reason]++
    partition.rejected++
    events.rejected(partition.name, reason)
    return error
  }

  /** Frees a slot and feeds the outcome to the algorithm. */
  const complete = (
    partition: Partition,
    startedAt: number,
    inflightAtStart: number,
    outcome: 'success' | 'dropped' | 'ignored',
  ) => {
    inflight--
    partition.inflight--
    completed[outcome]++
    if (outcome !== 'ignored' || probe?.active) {
      const at = now()
      const elapsed = at - startedAt
      const dropped = outcome === 'dropped'
      if (outcome === 'success') rtt.record(elapsed)
      if (probe?.active) {
        // While probing the limit stays pinned; a drop still counts against the estimate.
        if (dropped) algorithm.update({ rtt: elapsed, inflight: inflightAtStart, dropped })
        if (probe.completed(at, startedAt, elapsed, outcome === 'success', inflight))
          setLimit(algorithm.limit, 'restore')
      } else if (outcome !== 'ignored') {
        const estimate = algorithm.update({ rtt: elapsed, inflight: inflightAtStart, dropped })
        if (probe?.maybeStart(at, inflight, queued)) setLimit(Math.min(estimate, probe.size), 'probe')
        else setLimit(estimate, dropped ? 'drop' : 'sample')
      }
    }
    if (queued > 0) dispatch()
  }

  const take = (partition: Partition) => {
    inflight++
    partition.inflight++
    partition.admitted++
    admitted++
  }

  const makeLease = (partition: Partition): Lease => {
    const startedAt = now()
    const inflightAtStart = inflight
    let done = false
    const finish = (outcome: 'success' | 'dropped' | 'ignored') => {
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

  const settle = (waiter: Waiter) => {
    waiter.settled = true
    waiter.partition.queued--
    queued--
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort)
  }

  const deadlines = createWaiterDeadlines(clock, now, partitions, (partition, waiter) => {
    settle(waiter)
    waiter.reject(
      reject(
        partition,
        'timeout',
        new LimitExceededError(
          'timeout',
          partition.name,
          `no slot within ${config.maxWaitMs} ms (limit ${limit})`,
        ),
      ),
    )
  })

  function dispatch(): void {
    while (queued > 0 && inflight < limit) {
      const partition = nextPartition(partitions)
      if (!partition) return
      const waiter = headOf(partition)
      if (!waiter) return
      partition.waiters.shift()
      settle(waiter)
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
    if (queued === 0) deadlines.disarm()
  }

  /** Queues a waiter, or refuses it at once; `start` runs when it gets a slot. */
  const enqueue = (
    partition: Partition,
    signal: AbortSignal | undefined,
    start: () => void,
    rejectWait: (error: unknown) => void,
  ) => {
    if (config.maxWaitMs === 0 || queued >= config.maxQueue) {
      const reason = config.maxWaitMs === 0 ? 'timeout' : 'queue-full'
      const detail = reason === 'timeout' ? `limit ${limit} reached` : `${queued} calls already waiting`
      rejectWait(reject(partition, reason, new LimitExceededError(reason, partition.name, detail)))
      return
    }
    const enqueuedAt = now()
    if (queued === 0) queueBusySince = enqueuedAt
    const waiter: Waiter = {
      partition,
      deadline: enqueuedAt + config.maxWaitMs,
      enqueuedAt,
      settled: false,
      start,
      reject: rejectWait,
      signal,
      onAbort: undefined,
    }
    if (signal) {
      waiter.onAbort = () => {
        if (waiter.settled) return
        settle(waiter)
        rejectWait(signal.reason)
        deadlines.arm()
      }
      signal.addEventListener('abort', waiter.onAbort, { once: true })
    }
    partition.waiters.push(waiter)
    partition.queued++
    queued++
    deadlines.armIfIdle()
  }

  const acquire = (acquireOptions?: AcquireOptions): Promise<Lease> => {
    const partition = partitionOf(acquireOptions)
    if (partition instanceof TypeError) return Promise.reject(partition)
    if (closed) return Promise.reject(reject(partition, 'closed', new ClosedError('The limiter is closed')))
    const signal = acquireOptions?.signal
    if (signal?.aborted) return Promise.reject(signal.reason)
    if (inflight < limit && queued === 0) {
      take(partition)
      return Promise.resolve(makeLease(partition))
    }
    return new Promise<Lease>((resolve, rejectWait) =>
      enqueue(partition, signal, () => resolve(makeLease(partition)), rejectWait),
    )
  }

  const run = <T>(fn: () => Promise<T> | T, runOptions?: AcquireOptions): Promise<T> => {
    const partition = partitionOf(runOptions)
    if (partition instanceof TypeError) return Promise.reject(partition)
    if (closed) return Promise.reject(reject(partition, 'closed', new ClosedError('The limiter is closed')))
    const signal = runOptions?.signal
    if (signal?.aborted) return Promise.reject(signal.reason)
    // The fast path: a free slot and nobody ahead, so no queue entry and no extra promise.
    if (inflight < limit && queued === 0) {
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
      limiter: config.name,
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
    run: <T>(fn: () => Promise<T> | T, runOptions?: AcquireOptions): Promise<T> =>
      runTrace.hasSubscribers ? tracedRun(fn, runOptions) : run(fn, runOptions),
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
        noLoadRtt: probe?.noLoadRtt ?? 0,
        probing: probe?.active ?? false,
        inflight,
        queued,
        admitted,
        rejected: { ...rejected },
        completed: { ...completed },
        rtt: rtt.summary(),
        wait: wait.summary(),
        partitions: partitionStats(partitions),
      }
    },
    close() {
      if (closed) return
      closed = true
      deadlines.disarm()
      for (const partition of partitions) {
        for (const waiter of partition.waiters.clear()) {
          if (waiter.settled) continue
          settle(waiter)
          waiter.reject(reject(partition, 'closed', new ClosedError('The limiter was closed while waiting')))
        }
      }
      events.clear()
    },
  }
}
