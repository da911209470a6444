import {
  childLogger,
  createEmitter,
  createLatencyHistogram,
  parseOptions,
  type TimerHandle,
} from '@headroom/core'
import { createLimitAlgorithm } from '../algorithms/limit-algorithm.js'
import { poolChannels } from '../shared/channels.js'
import { monotonicNow } from '../shared/timing.js'
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
  const { target, clock, name } = config
  const now = monotonicNow(clock)
  const logger = childLogger(config.logger, { component: 'headroom:pool:sizer', name })
  const events = createEmitter<PoolSizerEvents>((error, event) =>
    logger.error({ err: error, event }, 'pool sizer listener threw'),
  )
  const min = Math.max(config.min, target.floor)

  // The upper bound: `max`, or this instance's share of the database's max_connections
  // (less `reserved`) when smaller. The target is asked for max_connections in the
  // background until it answers; until then the bound is `min`, the smallest the share can
  // ever be, so the pool never exceeds its share, not even before the database answers.
  let maxConnections = config.maxConnections
  const canAsk = target.maxConnections !== undefined
  const ceilingOf = () => {
    // A target that cannot be asked (generic-pool without `maxConnections`) is bounded by max.
    if (maxConnections === undefined) return canAsk ? min : config.max
    const share = Math.floor(maxConnections / config.instances) - config.reserved
    return Math.max(min, Math.min(config.max, share))
  }
  let ceiling = ceilingOf()
  /** The ceiling is final: max_connections is known, or cannot be asked. */
  const ceilingKnown = () => maxConnections !== undefined || !canAsk
  let askingMaxConnections = false
  let maxConnectionsFailures = 0
  let nextMaxConnectionsAt = 0

  const algorithm = createLimitAlgorithm(
    config.algorithm,
    Math.max(min, Math.min(ceilingKnown() ? ceiling : config.max, config.initial)),
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

  const sizeFromEstimate = () => Math.max(min, Math.min(ceiling, Math.floor(algorithm.limit)))

  const resetWindow = () => {
    samples = 0
    rttSum = 0
    drops = 0
    waitSum = 0
    waits = 0
    peakDemand = 0
  }

  /** Asks the target for max_connections, unless known, being asked, or backing off. */
  const learnCeiling = () => {
    if (maxConnections !== undefined || askingMaxConnections || !target.maxConnections) return
    if (clock.now() < nextMaxConnectionsAt) return
    askingMaxConnections = true
    target.maxConnections().then(
      (value) => {
        askingMaxConnections = false
        if (closed) return
        maxConnections = value
        ceiling = ceilingOf()
        logger.debug({ maxConnections: value, ceiling }, 'database max_connections known')
        // The pool is held at min until the share is known; from here it follows the estimate, within the share.
        if (algorithm.limit > ceiling) algorithm.reset(ceiling)
        if (probePhase === 'sizing') apply(sizeFromEstimate(), 'budget')
        else if (size > ceiling) apply(ceiling, 'budget')
      },
      (error: unknown) => {
        askingMaxConnections = false
        // Back off (1 s, 2 s, ... 30 s) so a dead database is not asked every interval; warn once.
        const delay = Math.min(30_000, 1000 * 2 ** maxConnectionsFailures)
        nextMaxConnectionsAt = clock.now() + delay
        const fields = { err: error, retryInMs: delay }
        const message = 'could not read max_connections; the ceiling is max until it answers'
        // Called as methods: pino's log functions read `this`.
        if (maxConnectionsFailures === 0) logger.warn(fields, message)
        else logger.debug(fields, message)
        maxConnectionsFailures++
      },
    )
  }

  // The no-load probe, as in Envoy's adaptive concurrency filter: every `probe.intervalMs`
  // (jittered) the pool is pinned at `probe.size`, drains, and one interval of queries
  // with (almost) no queueing gives the algorithm its baseline; then the size is restored.
  const probe =
    config.probe === false ? undefined : { ...config.probe, size: Math.max(min, config.probe.size) }
  let probePhase: 'sizing' | 'draining' | 'measuring' = 'sizing'
  let probeTicks = 0
  let sizeBeforeProbe = 0
  let noLoadRtt = 0
  let nextProbeAt = probe ? clock.now() : Number.POSITIVE_INFINITY
  const nextProbeTime = () => clock.now() + (probe?.intervalMs ?? 0) * (0.85 + Math.random() * 0.3)

  const endProbe = () => {
    probePhase = 'sizing'
    nextProbeAt = nextProbeTime()
    apply(Math.max(min, Math.min(ceiling, sizeBeforeProbe)), 'restore')
  }

  /** One step of the no-load probe at the end of an interval; true while it owns the pool. */
  const probeStep = (): boolean => {
    if (!probe) return false
    if (probePhase === 'sizing') {
      // Probing only tells something when queries complete and there is load to take away
      // (not, say, while every connect fails because the database is down).
      if (clock.now() < nextProbeAt || samples === 0 || size <= probe.size || peakDemand <= probe.size)
        return false
      probePhase = 'draining'
      probeTicks = 0
      sizeBeforeProbe = size
      apply(probe.size, 'probe')
      return true
    }
    probeTicks++
    if (probePhase === 'draining') {
      if (target.snapshot().total <= probe.size) {
        probePhase = 'measuring'
        probeTicks = 0
      } else if (probeTicks > 20) {
        logger.debug({ total: target.snapshot().total }, 'no-load probe abandoned: the pool did not drain')
        endProbe()
      }
      return true
    }
    if (samples - drops > 0) {
      noLoadRtt = rttSum / samples
      algorithm.observeNoLoadRtt(noLoadRtt)
      logger.debug({ noLoadRtt, size: probe.size }, 'no-load RTT measured')
      endProbe()
    } else if (probeTicks > 4) {
      endProbe()
    }
    return true
  }

  const tick = () => {
    timer = undefined
    if (closed) return
    learnCeiling()
    noteDemand()
    if (probeStep()) {
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
    if (idle && ceilingKnown() && probePhase === 'sizing') {
      parked = true
      return
    }
    timer = clock.setTimeout(tick, config.intervalMs)
  }

  apply(sizeFromEstimate(), 'start')
  learnCeiling()
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
        ceiling,
        noLoadRtt,
        probing: probePhase !== 'sizing',
        maxConnections,
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
      // A manual resize ends a probe in progress; the next is an interval away.
      if (probePhase !== 'sizing') {
        probePhase = 'sizing'
        nextProbeAt = nextProbeTime()
      }
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
