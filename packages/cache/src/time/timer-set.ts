import type { Clock, TimerHandle } from '@headroom/core'

/** The timers a cache holds (factory timeouts, lease renewals), so `close()` can clear them all. */
export interface TimerSet {
  start(fn: () => void, ms: number): TimerHandle
  stop(handle: TimerHandle | undefined): void
  clear(): void
}

export function createTimerSet(clock: Clock): TimerSet {
  const timers = new Set<TimerHandle>()
  return {
    start(fn, ms) {
      const handle = clock.setTimeout(() => {
        timers.delete(handle)
        fn()
      }, ms)
      timers.add(handle)
      return handle
    },
    stop(handle) {
      if (handle === undefined) return
      timers.delete(handle)
      clock.clearTimeout(handle)
    },
    clear() {
      for (const handle of timers) clock.clearTimeout(handle)
      timers.clear()
    },
  }
}
