// The per-task state of the few tasks given a signal or a timeout, kept off plain tasks.
import type { TimerHandle } from '@headroom/core'
import type { Settle, TaskFn } from './types.js'

/**
 * What a task given a signal or a timeout needs besides its fn. A plain task has none:
 * it is queued as its fn alone, so the options of a few tasks cost nothing to the rest.
 */
const ignoreAbort = (): void => {}

export class TaskExtras {
  started = false
  cancelled = false
  controller: AbortController | undefined = undefined
  timer: TimerHandle | undefined = undefined
  /** The queue's handler of an aborted signal, set by the queue right after construction. */
  onAbort: (extras: TaskExtras) => void = ignoreAbort
  constructor(
    readonly fn: TaskFn,
    readonly resolve: Settle,
    readonly signal: AbortSignal | undefined,
    readonly timeout: number | undefined,
  ) {}

  /** The signal's abort listener: an object listener, so no closure per task. */
  handleEvent(): void {
    this.onAbort(this)
  }
}
