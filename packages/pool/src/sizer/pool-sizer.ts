import {
  childLogger,
  createEmitter,
  createLatencyHistogram,
  parseOptions,
  systemClock,
  type TimerHandle,
} from '@headroom/core'
import { createLimitAlgorithm } from '../algorithms/limit-algorithm.js'
import { poolChannels } from '../shared/channels.js'
import { monotonicNow } from '../shared/timing.js'
import { toTarget } from '../targets/to-pool-target.js'
import { createConnectionCeiling } from './connection-ceiling.js'
import { createNoLoadProbe } from './no-load-probe.js'
import { type PoolSizerOptions, poolSizerOptionsSchema } from './options.js'
import type { PoolSizer, PoolSizerEvents, ResizeReason } from './types.js'
import { WINDOWED_DEFAULTS } from './windowed-defaults.js'

/**
 * Creates an adaptive sizer for a live connection pool: every `intervalMs` it feeds the
 * interval's query latency, peak demand (in use + waiting) and drops (timeouts,
 * contention errors) to Vegas, Gradient2 or AIMD, and sets the pool's max to the result,
 * bounded by `min`, `max` and the database's `max_connections / instances` share.
 *
 * @example
 * import pg from 'pg'
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 })
 * const sizer = createPoolSizer({ target: pool, algorithm: 'vegas', min: 2, max: 50, instances: 4 })
 * sizer.on('resize', ({ old, new: size, reason }) => console.log(`pool ${old} -> ${size} (${reason})`))
 * // ... on shutdown
 * sizer.close()
 * await pool.end()
 */
export function createPoolSizer(options: PoolSizerOptions): PoolSizer {
  const config = parseOptions('createPoolSizer', poolSizerOptionsSchema, options)
  const target = toTarget(options.target as object)
  const clock = options.clock ?? systemClock
  const now = monotonicNow(clock)
  const name = config.name ?? target.kind
  const logger = childLogger(options.logger, { component: 'headroom:pool:sizer', name })
  const events = createEmitter<PoolSizerEvents>((error, event) =>
    logger.error({ err: error, event }, 'pool sizer listener threw'),
  )

  const min = Math.max(config.min, target.floor)
  const budget = createConnectionCeiling({
    max: config.max,
    instances: config.instances,
    reserved: config.reserved,
    maxConnections: config.maxConnections,
    min,
    target,
    clock,
    logger,
    isClosed: () => closed,
    onKnown: (ceiling) => {
      // The pool is held at min until the share is known; from here it follows the estimate, within the share.
      if (algorithm.limit > ceiling) algorithm.reset(ceiling)
      if (!noLoad.probing) apply(sizeFromEstimate(), 'budget')
      else if (size > ceiling) apply(ceiling, 'budget')
    },
  })

  const initial = config.initial ?? target.snapshot().max
  const algorithm = createLimitAlgorithm(
    options.algorithm ?? 'vegas',
    Math.max(min, Math.min(budget.known ? budget.ceiling : config.max, initial)),
    { minLimit: min, maxLimit: config.max },
    WINDOWED_DEFAULTS,
  )

  // Interval accumulators: sums and a peak, no per-sample storage.
  let samples = 0
  let rttSum = 0
  let drops = 0
  let peakDemand = 0
  let waitSum = 0
  let waits = 0
  const checkouts = { success: 0, dropped: 0, ignored: 0, acquireFailed: 0 }
  const latency = createLatencyHistogram()
  const acquireWait = createLatencyHistogram()
  let resizes = 0
  let closed = false
  let timer: TimerHandle | undefined
  // Parked: an idle pool with nothing to learn has no timer, so an idle process is not
  // woken every interval for nothing; the next checkout wakes the sizer.
  let parked = false
  const unpark = () => {
    if (!parked || closed) return
    parked = false
    timer = clock.setTimeout(tick, config.intervalMs)
  }

  const noteDemand = () => {
    const snapshot = target.snapshot()
    const demand = snapshot.inUse + snapshot.waiting
    if (demand > peakDemand) peakDemand = demand
  }

  const detach = target.observe(
    {
      acquired(waitMs) {
        unpark()
        acquireWait.record(waitMs)
        waitSum += waitMs
        waits++
        noteDemand()
      },
      acquireFailed(waitMs) {
        unpark()
        checkouts.acquireFailed++
        waitSum += waitMs
        waits++
      },
      released(holdMs, outcome) {
        unpark()
        checkouts[outcome]++
        noteDemand()
        if (outcome === 'ignored') return
        if (outcome === 'dropped') drops++
        else latency.record(holdMs)
        samples++
        rttSum += holdMs
      },
    },
    now,
  )

  let size = target.snapshot().max

  const apply = (next: number, reason: ResizeReason) => {
    if (next === size || closed) return
    const old = size
    size = next
    resizes++
    target.resize(next)
    logger.debug({ old, new: next, reason }, 'pool resized')
    if (events.has('resize')) events.emit('resize', { name, old, new: next, reason })
    if (poolChannels.resize.hasSubscribers) poolChannels.resize.publish({ name, old, new: next, reason })
  }

  const sizeFromEstimate = () => Math.max(min, Math.min(budget.ceiling, Math.floor(algorithm.limit)))

  const resetWindow = () => {
    samples = 0
    rttSum = 0
    drops = 0
    waitSum = 0
    waits = 0
    peakDemand = 0
  }

  const noLoad = createNoLoadProbe({
    probe: config.probe,
    min,
    clock,
    target,
    logger,
    algorithm,
    size: () => size,
    ceiling: () => budget.ceiling,
    apply,
  })

  const tick = () => {
    timer = undefined
    if (closed) return
    budget.learn()
    noteDemand()
    if (noLoad.step(samples, rttSum, drops, peakDemand)) {
      resetWindow()
      timer = clock.setTimeout(tick, config.intervalMs)
      return
    }
    if (samples > 0) {
      const rtt = rttSum / samples
      const inflight = peakDemand
      const before = algorithm.limit
      algorithm.update({ rtt, inflight, dropped: drops > 0 })
      const next = sizeFromEstimate()
      if (events.has('window'))
        events.emit('window', {
          name,
          rtt,
          inflight,
          samples,
          drops,
          acquireWait: waits > 0 ? waitSum / waits : 0,
          size: next,
        })
      if (next !== size) {
        const reason: ResizeReason =
          next > size ? 'increase' : drops > 0 ? 'drop' : algorithm.limit < before ? 'latency' : 'budget'
        apply(next, reason)
      }
    }
    const idle = samples === 0 && waits === 0 && peakDemand === 0
    resetWindow()
    if (idle && budget.known && !noLoad.probing) {
      parked = true
      return
    }
    timer = clock.setTimeout(tick, config.intervalMs)
  }

  apply(sizeFromEstimate(), 'start')
  budget.learn()
  timer = clock.setTimeout(tick, config.intervalMs)

  return {
    target,
    on: events.on,
    get size() {
      return size
    },
    stats() {
      return {
        algorithm: algorithm.name,
        size,
        estimate: algorithm.limit,
        min,
        ceiling: budget.ceiling,
        noLoadRtt: noLoad.noLoadRtt,
        probing: noLoad.probing,
        maxConnections: budget.maxConnections,
        pool: target.snapshot(),
        resizes,
        checkouts: { ...checkouts },
        latency: latency.summary(),
        acquireWait: acquireWait.summary(),
      }
    },
    resize(next) {
      if (!Number.isFinite(next) || next <= 0)
        throw new TypeError(`PoolSizer.resize: expected a positive size (received ${String(next)})`)
      algorithm.reset(next)
      noLoad.cancel()
      apply(sizeFromEstimate(), 'manual')
    },
    close() {
      if (closed) return
      closed = true
      if (timer !== undefined) clock.clearTimeout(timer)
      timer = undefined
      detach()
      events.clear()
    },
  }
}
