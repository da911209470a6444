import type { Clock, TimerHandle } from './clock.js'

interface ScheduledTimer {
  id: number
  at: number
  fn: () => void
}

/** A {@link Clock} that only moves when a test says so. */
export interface ManualClock extends Clock {
  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void
  /** Moves time forward and lets promise callbacks run between timers. */
  advanceAsync(ms: number): Promise<void>
  /** Sets the time without running timers (for clocks that jump). */
  set(now: number): void
  /** Timers still scheduled. */
  pending(): number
}

/**
 * A test double for {@link Clock}: time starts at `start` and advances only
 * through `advance`, which runs due timers in order of their deadline.
 *
 * @example
 * const clock = createManualClock()
 * const seen: number[] = []
 * clock.setTimeout(() => seen.push(clock.now()), 100)
 * clock.advance(150) // seen is [100]
 */
export function createManualClock(start = 0): ManualClock {
  let now = start
  let nextId = 1
  const timers: ScheduledTimer[] = []

  const takeDue = (until: number): ScheduledTimer | undefined => {
    let best = -1
    for (let i = 0; i < timers.length; i++) {
      const timer = timers[i]!
      if (timer.at > until) continue
      if (best === -1 || timer.at < timers[best]!.at) best = i
    }
    return best === -1 ? undefined : timers.splice(best, 1)[0]
  }

  return {
    now: () => now,
    setTimeout(fn, ms) {
      const timer = { id: nextId++, at: now + Math.max(0, ms), fn }
      timers.push(timer)
      return timer.id
    },
    clearTimeout(handle: TimerHandle) {
      const index = timers.findIndex((timer) => timer.id === handle)
      if (index !== -1) timers.splice(index, 1)
    },
    advance(ms) {
      const until = now + ms
      for (let timer = takeDue(until); timer; timer = takeDue(until)) {
        now = Math.max(now, timer.at)
        timer.fn()
      }
      now = until
    },
    async advanceAsync(ms) {
      const until = now + ms
      // Promise callbacks queued before the call run first, as they would before a real timer.
      await flushMicrotasks()
      for (let timer = takeDue(until); timer; timer = takeDue(until)) {
        now = Math.max(now, timer.at)
        timer.fn()
        await flushMicrotasks()
      }
      now = until
      await flushMicrotasks()
    },
    set(value) {
      now = value
    },
    pending: () => timers.length,
  }
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}
