// close() waits for things that may never happen (a handler that hangs, Redis away):
// each wait is bounded, and its timer is cleared as soon as the awaited thing happens.
import type { Clock } from '@headroom/core'

/** Resolves when the callback handed to `arm` is called, or after `ms`, whichever comes first. */
export function waitAtMost(clock: Clock, ms: number, arm: (done: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = clock.setTimeout(resolve, ms)
    arm(() => {
      clock.clearTimeout(timer)
      resolve()
    })
  })
}
