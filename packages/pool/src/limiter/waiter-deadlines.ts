// The deadlines of a limiter's waiters: one timer for every waiter rather than one each.
// Deadlines are FIFO within a partition, so it tracks the earliest head.
import type { Clock, TimerHandle } from '@headroom/core'
import { headOf, type Partition, type Waiter } from './partitions.js'

/** `expire` refuses a waiter past its deadline; it is off its partition's FIFO already. */
export function createWaiterDeadlines(
  clock: Clock,
  now: () => number,
  partitions: readonly Partition[],
  expire: (partition: Partition, waiter: Waiter) => void,
) {
  let timer: TimerHandle | undefined
  let timerAt = Number.POSITIVE_INFINITY

  const arm = () => {
    let earliest = Number.POSITIVE_INFINITY
    for (const partition of partitions) {
      const head = headOf(partition)
      if (head && head.deadline < earliest) earliest = head.deadline
    }
    if (earliest === timerAt) return
    if (timer !== undefined) clock.clearTimeout(timer)
    timer = undefined
    timerAt = earliest
    if (earliest === Number.POSITIVE_INFINITY) return
    timer = clock.setTimeout(fire, Math.max(0, earliest - now()))
  }

  function fire(): void {
    timer = undefined
    timerAt = Number.POSITIVE_INFINITY
    const at = now()
    for (const partition of partitions) {
      for (let head = headOf(partition); head && head.deadline <= at; head = headOf(partition)) {
        partition.waiters.shift()
        expire(partition, head)
      }
    }
    arm()
  }

  return {
    /** Re-reads the heads' deadlines (after a waiter left early). */
    arm,
    /** Arms the timer when none is running (a new waiter's deadline is never the earliest otherwise). */
    armIfIdle() {
      if (timer === undefined) arm()
    },
    /** Stops the timer: nobody waits, or the limiter closed. */
    disarm() {
      if (timer === undefined) return
      clock.clearTimeout(timer)
      timer = undefined
      timerAt = Number.POSITIVE_INFINITY
    },
  }
}
