// The promises behind a task queue's onIdle(), onEmpty() and onSizeLessThan(): each
// resolves once the queue is idle (nothing queued or running) or holds fewer tasks than
// its limit.

interface Waiter {
  limit: number
  idle: boolean
  resolve: () => void
}

/** Callers waiting on a task queue's counts; the queue calls `notify` as they change. */
export class TaskWaiters {
  #list: Waiter[] = []

  /** Waiters registered: the queue reads it after every task before calling `notify`. */
  get count(): number {
    return this.#list.length
  }

  /** Resolves the waiters satisfied with `size` tasks queued and `running` running. */
  notify(size: number, running: number): void {
    if (this.#list.length === 0) return
    const keep: Waiter[] = []
    for (const waiter of this.#list) {
      if (waiter.idle ? size === 0 && running === 0 : size < waiter.limit) waiter.resolve()
      else keep.push(waiter)
    }
    this.#list = keep
  }

  /** Resolves now if satisfied with `size` and `running` (see `notify`), else once `notify` finds it so. */
  waitFor(limit: number, idle: boolean, size: number, running: number): Promise<void> {
    if (idle ? size === 0 && running === 0 : size < limit) return Promise.resolve()
    return new Promise((resolve) => this.#list.push({ limit, idle, resolve }))
  }
}
