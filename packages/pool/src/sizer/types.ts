// The public shape of a pool sizer: why it resizes, its events and stats, and the sizer
// itself. Apart from pool-sizer.ts so that file holds the engine.
import type { LatencySummary, Subscribable } from '@headroom/core'
import type { LimitAlgorithmName } from '../algorithms/limit-algorithm.js'
import type { PoolSnapshot, PoolTarget } from '../targets/pool-target.js'

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
