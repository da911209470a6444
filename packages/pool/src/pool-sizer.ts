import {
  childLogger,
  createEmitter,
  createLatencyHistogram,
  type LatencySummary,
  parseOptions,
  type Subscribable,
  systemClock,
  type TimerHandle,
} from '@headroom/core'
import { poolChannels } from './channels.js'
import { type GenericPoolLike, genericPoolTarget } from './generic-pool-target.js'
import { createLimitAlgorithm, type LimitAlgorithmName } from './limit-algorithm.js'
import { type PgPoolLike, pgPoolTarget } from './pg-pool-target.js'
import { type PoolSizerOptions, poolSizerOptionsSchema } from './pool-sizer-options.js'
import type { PoolSnapshot, PoolTarget } from './pool-target.js'
import { monotonicNow } from './timing.js'
import { log10Root } from './vegas.js'

/** Why the pool was resized. */
export type ResizeReason =
  | 'start'
  | 'increase'
  | 'latency'
  | 'drop'
  | 'budget'
  | 'manual'
  | 'probe'
  | 'restore'

/** Events of a pool sizer. */
export type PoolSizerEvents = {
  /** The pool's max changed. */
  resize: { name: string; old: number; new: number; reason: ResizeReason }
  /** One interval's inputs and the decision taken (for plots and debugging). */
  window: {
    name: string
    /** Mean query latency (connection hold time) in the interval, ms. */
    rtt: number
    /** Peak demand: connections in use plus callers waiting. */
    inflight: number
    samples: number
    drops: number
    /** Mean acquire wait in the interval, ms. */
    acquireWait: number
    size: number
  }
}

/** A snapshot of a pool sizer. */
export interface PoolSizerStats {
  algorithm: LimitAlgorithmName
  /** The pool's max as the sizer set it. */
  size: number
  /** The algorithm's estimate before rounding and bounds. */
  estimate: number
  min: number
  /** The effective upper bound: `max`, or the `max_connections` share if smaller. */
  ceiling: number
  /** The last no-load RTT a probe measured, ms (0 before the first). */
  noLoadRtt: number
  /** Whether a no-load probe is running. */
  probing: boolean
  /** The database's max_connections, once known. */
  maxConnections: number | undefined
  pool: PoolSnapshot
  resizes: number
  /** Checkouts by outcome. */
  checkouts: { success: number; dropped: number; ignored: number; acquireFailed: number }
  /** Query latency (connection hold time), ms. */
  latency: LatencySummary
  /** Acquire wait, ms. */
  acquireWait: LatencySummary
}

/** An adaptive pool sizer. */
export interface PoolSizer extends Subscribable<PoolSizerEvents> {
  readonly target: PoolTarget
  /** The pool's max as the sizer set it. */
  readonly size: number
  stats(): PoolSizerStats
  /** Sets the size by hand (clamped to the bounds); the algorithm continues from it. */
  resize(size: number): void
  /** Stops sizing: clears the timer and unhooks the pool (the pool keeps its current size and stays open). */
  close(): void
}

function isPgPool(value: object): value is PgPoolLike {
  const candidate = value as Partial<PgPoolLike>
  return typeof candidate.options?.max === 'number' && 'waitingCount' in candidate && 'idleCount' in candidate
}

function isGenericPool(value: object): value is GenericPoolLike {
  return '_config' in value && 'borrowed' in value && 'pending' in value
}

function toTarget(value: object): PoolTarget {
  if (typeof (value as Partial<PoolTarget>).resize === 'function' && 'kind' in value)
    return value as PoolTarget
  if (isPgPool(value)) return pgPoolTarget(value)
  if (isGenericPool(value)) return genericPoolTarget(value)
  throw new TypeError(
    'Invalid createPoolSizer option "target": expected a pg Pool, a generic-pool pool or a PoolTarget (received an unknown object)',
  )
}

/** Algorithm tuning for one sample per interval rather than one per request. */
const WINDOWED_DEFAULTS = {
  gradient2: {},
  // One Vegas sample per interval is a mean over many queries, but on a busy host it is
  // still noisy: half-weight steps keep one lucky interval from adding `beta` connections,
  // and shrinking by a fifth (rather than log10) lets an oversized pool come down in
  // seconds rather than one connection per interval.
  vegas: { smoothing: 0.5, decrease: (limit: number) => limit - Math.max(log10Root(limit), limit * 0.2) },
  aimd: {},
}

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
  let maxConnections = config.maxConnections
  const ceilingOf = () => {
    if (maxConnections === undefined) return config.max
    const share = Math.floor(maxConnections / config.instances) - config.reserved
    return Math.max(min, Math.min(config.max, share))
  }
  let ceiling = ceilingOf()

  const initial = config.initial ?? target.snapshot().max
  const algorithm = createLimitAlgorithm(
    options.algorithm ?? 'vegas',
    Math.max(min, Math.min(ceiling, initial)),
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
  let askingMaxConnections = false

  const noteDemand = () => {
    const snapshot = target.snapshot()
    const demand = snapshot.inUse + snapshot.waiting
    if (demand > peakDemand) peakDemand = demand
  }

  const detach = target.observe(
    {
      acquired(waitMs) {
        acquireWait.record(waitMs)
        waitSum += waitMs
        waits++
        noteDemand()
      },
      acquireFailed(waitMs) {
        checkouts.acquireFailed++
        waitSum += waitMs
        waits++
      },
      released(holdMs, outcome) {
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

  let maxConnectionsFailures = 0
  let nextMaxConnectionsAt = 0
  const learnMaxConnections = () => {
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
        if (size > ceiling) apply(ceiling, 'budget')
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

  const resetWindow = () => {
    samples = 0
    rttSum = 0
    drops = 0
    waitSum = 0
    waits = 0
    peakDemand = 0
  }

  const probe =
    config.probe === false
      ? undefined
      : { intervalMs: config.probe.intervalMs, size: Math.max(min, config.probe.size ?? 2) }
  let phase: 'sizing' | 'draining' | 'measuring' = 'sizing'
  let phaseTicks = 0
  let sizeBeforeProbe = 0
  let noLoadRtt = 0
  let nextProbeAt = probe ? clock.now() : Number.POSITIVE_INFINITY
  const jitter = () => 0.85 + Math.random() * 0.3

  const endProbe = () => {
    phase = 'sizing'
    nextProbeAt = clock.now() + (probe?.intervalMs ?? 0) * jitter()
    apply(Math.max(min, Math.min(ceiling, sizeBeforeProbe)), 'restore')
  }

  /** One step of the no-load probe; true while it owns the pool. */
  const probeStep = (): boolean => {
    if (!probe) return false
    if (phase === 'sizing') {
      // Probing only tells something when queries complete and there is load to take away
      // (not, say, while every connect fails because the database is down).
      if (clock.now() < nextProbeAt || samples === 0 || size <= probe.size || peakDemand <= probe.size)
        return false
      phase = 'draining'
      phaseTicks = 0
      sizeBeforeProbe = size
      apply(probe.size, 'probe')
      return true
    }
    phaseTicks++
    if (phase === 'draining') {
      if (target.snapshot().total <= probe.size) {
        phase = 'measuring'
        phaseTicks = 0
      } else if (phaseTicks > 20) {
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
    } else if (phaseTicks > 4) {
      endProbe()
    }
    return true
  }

  const tick = () => {
    timer = undefined
    if (closed) return
    learnMaxConnections()
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
    resetWindow()
    timer = clock.setTimeout(tick, config.intervalMs)
  }

  apply(sizeFromEstimate(), 'start')
  learnMaxConnections()
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
        probing: phase !== 'sizing',
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
      if (phase !== 'sizing') {
        phase = 'sizing'
        nextProbeAt = clock.now() + (probe?.intervalMs ?? 0) * jitter()
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
