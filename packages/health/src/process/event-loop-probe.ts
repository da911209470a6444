import { performance } from 'node:perf_hooks'
import { createLatencyHistogram } from '@headroom/core'

/** Event-loop delay seen since the last {@link EventLoopProbe.take}, in milliseconds. */
export interface EventLoopDelay {
  p99: number
  max: number
  mean: number
}

/** Measures how late a short repeating timer fires: the time the loop was busy elsewhere. */
export interface EventLoopProbe {
  /** The delay since the previous call, and starts a new window. */
  take(): EventLoopDelay
  close(): void
}

/**
 * A drift probe: one unref()'d timer every `resolutionMs` records how late it ran into
 * a fixed-size histogram. It replaces `monitorEventLoopDelay`, whose `percentile()` and
 * `reset()` cost about 10 µs each: reading this one costs well under a microsecond, which
 * keeps a whole sample under 20 µs.
 *
 * A delay still being suffered when `take()` runs (the loop is blocked right now) cannot
 * be seen by any timer; the sampler's own lateness covers that case.
 */
export function createEventLoopProbe(resolutionMs: number, onTick?: () => void): EventLoopProbe {
  const histogram = createLatencyHistogram()
  let max = 0
  let sum = 0
  let expected = performance.now() + resolutionMs
  const record = (delay: number) => {
    histogram.record(delay)
    sum += delay
    if (delay > max) max = delay
  }
  const tick = () => {
    const now = performance.now()
    record(Math.max(0, now - expected))
    expected = now + resolutionMs
    timer.refresh()
    onTick?.()
  }
  const timer = setTimeout(tick, resolutionMs)
  timer.unref()

  return {
    take() {
      // A tick overdue right now has not run yet (the sampler woke first): count its
      // lateness so far here, and let the tick count only what comes after.
      const now = performance.now()
      if (now > expected) {
        record(now - expected)
        expected = now
      }
      const count = histogram.count
      const delay = { p99: histogram.quantile(0.99), max, mean: count === 0 ? 0 : sum / count }
      histogram.reset()
      max = 0
      sum = 0
      return delay
    },
    close() {
      clearTimeout(timer)
    },
  }
}
