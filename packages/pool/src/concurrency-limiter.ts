import {
  ClosedError,
  childLogger,
  createEmitter,
  createLatencyHistogram,
  Fifo,
  type LatencySummary,
  parseOptions,
  type Subscribable,
  systemClock,
  type TimerHandle,
} from '@headroom/core'
import { poolChannels } from './channels.js'

import { isDropError } from './drops.js'
import { LimitExceededError, type RejectReason } from './errors.js'
import { createLimitAlgorithm, type LimitAlgorithmName } from './limit-algorithm.js'
import { type ConcurrencyLimiterOptions, limiterOptionsSchema } from './limiter-options.js'
import { monotonicNow } from './timing.js'

/** A slot held by one unit of work; report how it went exactly once. */
export interface Lease {
  /** The partition the slot was taken from. */
  readonly partition: string
  /** The work succeeded: its RTT is a sample for the algorithm. */
  success(): void
  /** The work timed out or was refused downstream: the limit should shrink. */
  dropped(): void
  /** The work failed for a reason unrelated to load: free the slot, take no sample. */
  ignore(): void
}

/** Per-call options of `run` and `acquire`. */
export interface AcquireOptions {
  /** The partition to take a slot from. @default the first partition */
  partition?: string
  /** Gives up waiting when aborted (rejects with the signal's reason). */
  signal?: AbortSignal
}

/** Per-partition figures in {@link LimiterStats}. */
export interface PartitionStats {
  /** The partition's guaranteed share of the limit, as a slot count. */
  guaranteed: number
  inflight: number
  queued: number
  admitted: number
  rejected: number
}

/** A snapshot of a limiter. */
export interface LimiterStats {
  algorithm: LimitAlgorithmName
  /** Slots: the algorithm's estimate, rounded down. */
  limit: number
  /** The algorithm's estimate before rounding. */
  estimate: number
  inflight: number
  queued: number
  admitted: number
  /** Refused calls by reason. */
  rejected: Record<RejectReason, number>
  /** Completed calls by outcome. */
  completed: { success: number; dropped: number; ignored: number }
  /** RTT of successful work, in ms. */
  rtt: LatencySummary
  /** Time admitted work waited for its slot, in ms. */
  wait: LatencySummary
  partitions: Record<string, PartitionStats>
}

/** Events of a limiter. */
export type LimiterEvents = {
  /** The limit (in whole slots) changed. */
  limit: { name: string; old: number; new: number; reason: 'sample' | 'drop' }
  /** A call was refused. */
  reject: { name: string; partition: string; reason: RejectReason }
}

/** An adaptive concurrency limiter. */
export interface ConcurrencyLimiter extends Subscribable<LimiterEvents> {
  /**
   * Runs `fn` once a slot is free and reports its outcome to the algorithm: success
   * samples the RTT, a drop (per `isDrop`) shrinks the limit, other errors are ignored.
   */
  run<T>(fn: () => Promise<T> | T, options?: AcquireOptions): Promise<T>
  /** Takes a slot (waiting at most `maxWaitMs`); the caller reports the outcome on the lease. */
  acquire(options?: AcquireOptions): Promise<Lease>
  /** The current limit in slots. */
  readonly limit: number
  readonly inflight: number
  stats(): LimiterStats
  /** Refuses waiting and future calls with `ClosedError`, clears the timer; work in flight finishes. */
  close(): void
}

interface Waiter {
  partition: Partition
  deadline: number
  enqueuedAt: number
  settled: boolean
  /** Runs once a slot is taken for the waiter (resolves a lease, or starts run()'s work). */
  start(): void
  reject(error: unknown): void
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

interface Partition {
  name: string
  share: number
  guaranteed: number
  inflight: number
  /** Live waiters (the FIFO may still hold settled ones, skipped lazily). */
  queued: number
  admitted: number
  rejected: number
  waiters: Fifo<Waiter>
}

/**
 * Creates an adaptive concurrency limiter: at most `limit` calls run at once, and the
 * limit follows the latency of the work through Gradient2, Vegas or AIMD (Netflix
 * concurrency-limits). Calls over the limit wait in a bounded queue, by priority
 * partition, and are refused with a {@link LimitExceededError} after `maxWaitMs`.
 *
 * @example
 * const limiter = createConcurrencyLimiter({
 *   algorithm: 'gradient2', min: 2, max: 64, initial: 8, maxWaitMs: 500,
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
  const events = createEmitter<LimiterEvents>((error, event) =>
    logger.error({ err: error, event }, 'limiter listener threw'),
  )
  const algorithm = createLimitAlgorithm(options.algorithm ?? 'gradient2', config.initial, {
    minLimit: config.min,
    maxLimit: config.max,
  })

  let limit = Math.max(1, Math.floor(algorithm.limit))
  let inflight = 0
  let queued = 0
  let closed = false
  let timer: TimerHandle | undefined
  let timerAt = Number.POSITIVE_INFINITY
  const completed = { success: 0, dropped: 0, ignored: 0 }
  const rejected: Record<RejectReason, number> = { 'queue-full': 0, timeout: 0, closed: 0 }
  let admitted = 0
  const rtt = createLatencyHistogram()
  const wait = createLatencyHistogram()

  const partitions: Partition[] = Object.entries(config.partitions).map(([name, share]) => ({
    name,
    share,
    guaranteed: 1,
    inflight: 0,
    queued: 0,
    admitted: 0,
    rejected: 0,
    waiters: new Fifo<Waiter>(),
  }))
  const byName = new Map(partitions.map((partition) => [partition.name, partition]))
  const first = partitions[0]!

  const updateGuarantees = () => {
    for (const partition of partitions) partition.guaranteed = Math.max(1, Math.ceil(limit * partition.share))
  }
  updateGuarantees()

  const setLimit = (estimate: number, reason: 'sample' | 'drop') => {
    const next = Math.max(1, Math.floor(estimate))
    if (next === limit) return
    const old = limit
    limit = next
    updateGuarantees()
    logger.debug({ old, new: next, reason }, 'concurrency limit changed')
    if (events.has('limit')) events.emit('limit', { name: config.name, old, new: next, reason })
    if (poolChannels.limit.hasSubscribers)
      poolChannels.limit.publish({ name: config.name, old, new: next, reason })
    if (next > old) dispatch()
  }

  const reject = (partition: Partition, reason: RejectReason, error: unknown) => {
    rejected[reason]++
    partition.rejected++
    if (events.has('reject')) events.emit('reject', { name: config.name, partition: partition.name, reason })
    if (poolChannels.reject.hasSubscribers)
      poolChannels.reject.publish({ name: config.name, partition: partition.name, reason })
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
    if (outcome !== 'ignored') {
      const elapsed = now() - startedAt
      const dropped = outcome === 'dropped'
      if (!dropped) rtt.record(elapsed)
      setLimit(
        algorithm.update({ rtt: elapsed, inflight: inflightAtStart, dropped }),
        dropped ? 'drop' : 'sample',
      )
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

  /** The next live waiter of a partition, dropping settled ones off the front. */
  const headOf = (partition: Partition): Waiter | undefined => {
    let head = partition.waiters.peek()
    while (head?.settled) {
      partition.waiters.shift()
      head = partition.waiters.peek()
    }
    return head
  }

  const nextPartition = (): Partition | undefined => {
    // A partition under its guaranteed share goes first, so batch work is never starved...
    for (const partition of partitions)
      if (partition.queued > 0 && partition.inflight < partition.guaranteed) return partition
    // ...then priority order.
    for (const partition of partitions) if (partition.queued > 0) return partition
    return undefined
  }

  const settle = (waiter: Waiter) => {
    waiter.settled = true
    waiter.partition.queued--
    queued--
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort)
  }

  function dispatch(): void {
    while (queued > 0 && inflight < limit) {
      const partition = nextPartition()
      if (!partition) return
      const waiter = headOf(partition)
      if (!waiter) return
      partition.waiters.shift()
      settle(waiter)
      wait.record(now() - waiter.enqueuedAt)
      take(partition)
      waiter.start()
    }
    if (queued === 0 && timer !== undefined) {
      clock.clearTimeout(timer)
      timer = undefined
      timerAt = Number.POSITIVE_INFINITY
    }
  }

  /** One timer for every waiter: deadlines are FIFO within a partition, so it tracks the earliest head. */
  const armTimer = () => {
    let earliest = Number.POSITIVE_INFINITY
    for (const partition of partitions) {
      const head = headOf(partition)
      if (head && head.deadline < earliest) earliest = head.deadline
    }
    if (earliest === timerAt) return
    if (timer !== undefined) clock.clearTimeout(timer)
    timer = undefined
    timerAt = earliest
    if (earliest === Number.POSITIVE_INFINITY) return
    timer = clock.setTimeout(expire, Math.max(0, earliest - now()))
  }

  function expire(): void {
    timer = undefined
    timerAt = Number.POSITIVE_INFINITY
    const at = now()
    for (const partition of partitions) {
      for (let head = headOf(partition); head && head.deadline <= at; head = headOf(partition)) {
        partition.waiters.shift()
        settle(head)
        head.reject(
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
      }
    }
    armTimer()
  }

  const partitionOf = (options: AcquireOptions | undefined): Partition | TypeError => {
    if (options?.partition === undefined) return first
    return (
      byName.get(options.partition) ??
      new TypeError(
        `Unknown partition "${options.partition}" (partitions: ${partitions.map((p) => p.name).join(', ')})`,
      )
    )
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
        armTimer()
      }
      signal.addEventListener('abort', waiter.onAbort, { once: true })
    }
    partition.waiters.push(waiter)
    partition.queued++
    queued++
    if (timer === undefined) armTimer()
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

  return {
    on: events.on,
    run,
    acquire,
    get limit() {
      return limit
    },
    get inflight() {
      return inflight
    },
    stats() {
      const byPartition: Record<string, PartitionStats> = {}
      for (const partition of partitions) {
        byPartition[partition.name] = {
          guaranteed: partition.guaranteed,
          inflight: partition.inflight,
          queued: partition.queued,
          admitted: partition.admitted,
          rejected: partition.rejected,
        }
      }
      return {
        algorithm: algorithm.name,
        limit,
        estimate: algorithm.limit,
        inflight,
        queued,
        admitted,
        rejected: { ...rejected },
        completed: { ...completed },
        rtt: rtt.summary(),
        wait: wait.summary(),
        partitions: byPartition,
      }
    },
    close() {
      if (closed) return
      closed = true
      if (timer !== undefined) clock.clearTimeout(timer)
      timer = undefined
      timerAt = Number.POSITIVE_INFINITY
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
