// The limiter's no-load probe, as in Envoy's adaptive concurrency filter: every
// `intervalMs` (jittered) the limit is pinned low until the work in flight drains to it,
// then the mean RTT of `samples` calls that started at that low concurrency (or of those that
// ran in 1 s, at least 10, on a slow backend) is the algorithm's baseline. Without it an algorithm under sustained overload never sees an uncontended
// call, and takes queueing latency for normal. Driven by the limiter's completions: no timer.
import type { LimitAlgorithm } from '../algorithms/limit-algorithm.js'

export interface LimiterProbeOptions {
  intervalMs: number
  /** The concurrency the limit is pinned to. */
  size: number
  /** Calls measured at that concurrency. */
  samples: number
  algorithm: LimitAlgorithm
  /** The limiter's monotonic clock, ms. */
  now: () => number
}

/** A probe that cannot drain or measure in this long gives up (a hung call, no traffic). */
const GIVE_UP_MS = 5_000
/** On a slow backend the probe ends after this long, with at least MIN_SAMPLES. */
const MEASURE_MS = 1_000
const MIN_SAMPLES = 10

export function createLimiterProbe(options: LimiterProbeOptions) {
  const { intervalMs, size, samples, algorithm, now } = options
  let phase: 'idle' | 'draining' | 'measuring' = 'idle'
  // The first probe runs on the first load: the baseline is unknown until then.
  let nextProbeAt = now()
  let startedAt = 0
  let measureFrom = 0
  let sum = 0
  let count = 0
  let noLoadRtt = 0

  const end = (at: number) => {
    phase = 'idle'
    nextProbeAt = at + intervalMs * (0.85 + Math.random() * 0.3)
  }

  return {
    size,
    /** The limit is pinned to `size` while this is true. */
    get active() {
      return phase !== 'idle'
    },
    /** The last no-load RTT measured, ms (0 before the first). */
    get noLoadRtt() {
      return noLoadRtt
    },
    /**
     * Starts a probe when one is due and there is load above the probe size to take away
     * (with less, the calls already run uncontended). Returns true when it started.
     */
    maybeStart(at: number, inflight: number, queued: number): boolean {
      if (phase !== 'idle' || at < nextProbeAt || inflight + queued <= size) return false
      phase = inflight <= size ? 'measuring' : 'draining'
      startedAt = at
      measureFrom = at
      sum = 0
      count = 0
      return true
    },
    /**
     * One completed call during a probe (`inflight` after it left). Returns true when the
     * probe ended and the limit should be restored.
     */
    completed(at: number, callStartedAt: number, rtt: number, success: boolean, inflight: number): boolean {
      if (phase === 'idle') return false
      if (at - startedAt > GIVE_UP_MS) {
        end(at)
        return true
      }
      if (phase === 'draining') {
        if (inflight <= size) {
          phase = 'measuring'
          measureFrom = at
        }
        return false
      }
      // Only calls that started after the drain ran at the probe's concurrency.
      if (!success || callStartedAt < measureFrom) return false
      sum += rtt
      count++
      if (count < samples && (count < MIN_SAMPLES || at - measureFrom < MEASURE_MS)) return false
      noLoadRtt = sum / count
      algorithm.observeNoLoadRtt(noLoadRtt)
      end(at)
      return true
    },
  }
}

export type LimiterProbe = ReturnType<typeof createLimiterProbe>
