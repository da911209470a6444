// The public shape of an adaptive limiter: leases, per-call options, stats, events and
// the limiter itself.
import type { LatencySummary, Subscribable } from '@headroom/core'
import type { LimitAlgorithmName } from '../algorithms/limit-algorithm.js'
import type { RejectReason } from '../shared/errors.js'

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
  /** The last no-load RTT the probe measured, ms (0 before the first, or without probing). */
  noLoadRtt: number
  /** A no-load probe holds the limit low right now. */
  probing: boolean
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

/**
 * Why the limit changed: an algorithm update from a sample or a drop, a no-load probe
 * pinning it low, or the probe ending and restoring the algorithm's estimate.
 */
export type LimitChangeReason = 'sample' | 'drop' | 'probe' | 'restore'

/** Events of a limiter. */
export type LimiterEvents = {
  /** The limit (in whole slots) changed. */
  limit: { name: string; old: number; new: number; reason: LimitChangeReason }
  /** A call was refused. */
  reject: { name: string; partition: string; reason: RejectReason }
}

/** An adaptive concurrency limiter (see {@link createAdaptiveLimiter}). */
export interface AdaptiveLimiter extends Subscribable<LimiterEvents> {
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

/**
 * @deprecated Use {@link AdaptiveLimiter} (the limiter is `createAdaptiveLimiter` now);
 * this alias is removed in the next minor.
 */
export type ConcurrencyLimiter = AdaptiveLimiter
