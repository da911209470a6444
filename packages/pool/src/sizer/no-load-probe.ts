// The no-load probe: every `probe.intervalMs` (jittered) the sizer pins the pool at
// `probe.size`, waits for it to drain, measures the RTT with (almost) no queueing for the
// algorithm's baseline, then restores the size. Driven by the sizer's tick.
import type { Clock, Logger } from '@headroom/core'
import type { LimitAlgorithm } from '../algorithms/limit-algorithm.js'
import type { PoolTarget } from '../targets/pool-target.js'
import type { PoolSizerConfig } from './options.js'
import type { ResizeReason } from './types.js'

export interface NoLoadProbeOptions {
  probe: PoolSizerConfig['probe']
  /** The sizer's lower bound. */
  min: number
  clock: Clock
  target: PoolTarget
  logger: Logger
  algorithm: LimitAlgorithm
  /** The pool's max as the sizer set it. */
  size: () => number
  /** The sizer's current upper bound. */
  ceiling: () => number
  apply: (size: number, reason: ResizeReason) => void
}

export function createNoLoadProbe(options: NoLoadProbeOptions) {
  const { min, clock, target, logger, algorithm, size, ceiling, apply } = options
  const probe =
    options.probe === false
      ? undefined
      : { intervalMs: options.probe.intervalMs, size: Math.max(min, options.probe.size ?? 2) }
  let phase: 'sizing' | 'draining' | 'measuring' = 'sizing'
  let phaseTicks = 0
  let sizeBeforeProbe = 0
  let noLoadRtt = 0
  let nextProbeAt = probe ? clock.now() : Number.POSITIVE_INFINITY
  const jitter = () => 0.85 + Math.random() * 0.3

  const endProbe = () => {
    phase = 'sizing'
    nextProbeAt = clock.now() + (probe?.intervalMs ?? 0) * jitter()
    apply(Math.max(min, Math.min(ceiling(), sizeBeforeProbe)), 'restore')
  }

  return {
    get probing() {
      return phase !== 'sizing'
    },
    /** The last no-load RTT measured, ms (0 before the first). */
    get noLoadRtt() {
      return noLoadRtt
    },
    /** One step of the no-load probe, given the interval's window; true while it owns the pool. */
    step(samples: number, rttSum: number, drops: number, peakDemand: number): boolean {
      if (!probe) return false
      if (phase === 'sizing') {
        // Probing only tells something when queries complete and there is load to take away
        // (not, say, while every connect fails because the database is down).
        if (clock.now() < nextProbeAt || samples === 0 || size() <= probe.size || peakDemand <= probe.size)
          return false
        phase = 'draining'
        phaseTicks = 0
        sizeBeforeProbe = size()
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
    },
    /** A manual resize ends a probe in progress; the next is an interval away. */
    cancel() {
      if (phase === 'sizing') return
      phase = 'sizing'
      nextProbeAt = clock.now() + (probe?.intervalMs ?? 0) * jitter()
    },
  }
}
