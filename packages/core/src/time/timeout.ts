import { TimeoutError } from '../errors.js'
import { type Clock, systemClock, type TimerHandle } from './clock.js'

/**
 * Settles with `promise`, or rejects with a `TimeoutError` (`E_TIMEOUT`) after `ms`.
 * A later rejection of `promise` is absorbed, so it never becomes an unhandled rejection.
 *
 * @example
 * const value = await withTimeout(redis.get(key), 50)
 */
export function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  options: { clock?: Clock; message?: string } = {},
): Promise<T> {
  const clock = options.clock ?? systemClock
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      reject(new TimeoutError(options.message ?? `Timed out after ${ms} ms`))
    }, ms)
    promise.then(
      (value) => {
        clock.clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clock.clearTimeout(timer)
        reject(error)
      },
    )
  })
}

/**
 * Runs `fn` once the event loop has read the I/O that is waiting (at once on a manual
 * clock). A deadline timer on a busy event loop fires late, after replies have arrived
 * but before they are read, since the I/O phase comes after the timers: checking the
 * deadline after that phase means a reply that is already here is not a timeout, while
 * a slow server still is.
 */
export function afterPendingIo(clock: Clock, fn: () => void): void {
  if (clock === systemClock) setImmediate(fn)
  else fn()
}

interface Pending {
  deadline: number
  settled: boolean
  reject: (error: Error) => void
}

const NOOP = () => {}

/**
 * Marks a command answered. The entry stays in the FIFO until its deadline; dropping its
 * `reject` lets the settled promise (and the reply it holds) be collected now, not then.
 */
function settle(pending: Pending): void {
  pending.settled = true
  pending.reject = NOOP
}

/** Applies one fixed timeout to many concurrent operations with a single timer. */
export interface CommandTimeout {
  /** Settles with `promise`, or rejects with `E_TIMEOUT` once the timeout has passed. */
  run<T>(promise: Promise<T>): Promise<T>
  readonly ms: number
  /** Rejects nothing further and clears the timer. */
  close(): void
}

/**
 * A timeout for Redis commands on a request path. Because every command gets the
 * same timeout, deadlines arrive in order: one FIFO and one timer serve them all,
 * instead of a timer per command. It holds while ioredis queues commands offline
 * (a reconnecting client), since it never relies on ioredis to give up. A deadline
 * that passed while the event loop was blocked is checked only after pending I/O has
 * been read, so an overloaded process does not time out replies it already has.
 *
 * @example
 * const timeout = createCommandTimeout(50)
 * const value = await timeout.run(redis.get(key)) // rejects with E_TIMEOUT after 50 ms
 */
export function createCommandTimeout(ms: number, clock: Clock = systemClock): CommandTimeout {
  let queue: Pending[] = []
  let head = 0
  let timer: TimerHandle | undefined
  let timerAt = 0

  const arm = () => {
    while (head < queue.length && queue[head]!.settled) head++
    if (head === queue.length) {
      queue = []
      head = 0
      return
    }
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head)
      head = 0
    }
    const deadline = queue[head]!.deadline
    if (timer !== undefined && timerAt <= deadline) return
    if (timer !== undefined) clock.clearTimeout(timer)
    timerAt = deadline
    timer = clock.setTimeout(expire, Math.max(0, deadline - clock.now()))
  }

  const expire = () => {
    timer = undefined
    afterPendingIo(clock, expireDue)
  }

  const expireDue = () => {
    if (timer !== undefined) return
    const now = clock.now()
    while (head < queue.length && queue[head]!.deadline <= now) {
      const pending = queue[head++]!
      if (!pending.settled) {
        pending.settled = true
        pending.reject(new TimeoutError(`Redis command timed out after ${ms} ms`))
      }
    }
    arm()
  }

  return {
    ms,
    run<T>(promise: Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const pending: Pending = { deadline: clock.now() + ms, settled: false, reject }
        queue.push(pending)
        if (timer === undefined) arm()
        promise.then(
          (value) => {
            if (pending.settled) return
            settle(pending)
            resolve(value)
          },
          (error: unknown) => {
            if (pending.settled) return
            settle(pending)
            reject(error)
          },
        )
      })
    },
    close() {
      if (timer !== undefined) clock.clearTimeout(timer)
      timer = undefined
      queue = []
      head = 0
    },
  }
}
