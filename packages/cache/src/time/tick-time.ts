import { type Clock, systemClock } from '@headroom/core'

/** The time source of the L1 hit path. */
export interface TickTime {
  now(): number
  close(): void
}

/** Hits served between two reads of the real clock within one event-loop turn. */
const READS_PER_TURN = 256

/**
 * Reads `Date.now()` at most once per event-loop turn (and per 256 hits): on some hosts
 * (sandboxed kernels) the clock is a costly system call that would dominate an L1 hit.
 * A turn's hits share one timestamp, which is at most that turn's length old; lru-cache's
 * `ttlResolution` makes the same trade. An injected (test) clock is read every time.
 */
export function createTickTime(clock: Clock): TickTime {
  if (clock !== systemClock) return { now: () => clock.now(), close() {} }
  let now = 0
  let budget = 0
  let pending: ReturnType<typeof setImmediate> | undefined
  const endTurn = () => {
    pending = undefined
    budget = 0
  }
  return {
    now() {
      if (budget > 0) {
        budget--
        return now
      }
      now = Date.now()
      budget = READS_PER_TURN - 1
      if (pending === undefined) {
        pending = setImmediate(endTurn)
        pending.unref()
      }
      return now
    },
    close() {
      if (pending !== undefined) clearImmediate(pending)
      pending = undefined
      budget = 0
    },
  }
}
