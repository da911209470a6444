// The reusable place a running task occupies, so running a task allocates no closure.
import type { TaskExtras } from './extras.js'
import type { Settle } from './types.js'

/**
 * A place where one task runs at a time. Its two callbacks are made once and reused by
 * every task it runs: running a task attaches them to the task's result and allocates
 * no closure.
 */
export class Slot {
  resolve: Settle | undefined = undefined
  extras: TaskExtras | undefined = undefined
  enqueuedAt = 0
  startedAt = 0
  /** Its task timed out and was settled: the fn's late outcome is ignored, then the slot is freed. */
  abandoned = false
  readonly ok: Settle
  readonly fail: Settle
  constructor(settled: (slot: Slot, ok: boolean, value: unknown) => void) {
    this.ok = (value) => settled(this, true, value)
    this.fail = (error) => settled(this, false, error)
  }
}
