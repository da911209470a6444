/** An opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown

/**
 * The seam every component reads time and schedules work through, so tests can
 * drive time with a {@link createManualClock} or vitest's fake timers.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
  /** Schedules `fn` after `ms`; the timer never keeps the process alive. */
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

/** Node's largest timer delay; longer delays fire at once, so they are clamped. */
export const MAX_TIMER_DELAY_MS = 2_147_483_647

/** Clamps a delay into the range Node's timers accept (0 .. 2^31 - 1 ms). */
export function clampDelay(ms: number): number {
  if (!(ms > 0)) return 0
  return Math.min(ms, MAX_TIMER_DELAY_MS)
}

/**
 * The real clock. Its timers are `unref()`ed: a component's background work
 * never holds the process open; `close()` clears them anyway.
 *
 * It looks `Date.now` and the timer functions up on each call, so vitest's
 * fake timers installed after import still apply.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, clampDelay(ms))
    handle.unref?.()
    return handle
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>)
  },
}

/** Resolves after `ms` on `clock`, or rejects with the signal's reason when aborted. */
export function sleep(ms: number, clock: Clock = systemClock, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clock.clearTimeout(handle)
      reject(signal?.reason)
    }
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
