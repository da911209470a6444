// createTaskQueue: the in-process priority queue's engine (add, take, run, settle). Its
// types, option checks, waiters and the small classes it runs tasks with live in files of
// their own; what is left shares the engine's closure state, kept in one closure for speed.
import {
  type Clock,
  createChannels,
  createEmitter,
  createLatencyHistogram,
  parseOptions,
  QueueClosedError,
  TimeoutError,
} from '@headroom/core'
import { TaskClearedError } from '../shared/errors.js'
import { resolvePriority } from '../shared/priority.js'
import { TaskBuckets } from './buckets.js'
import { TaskExtras } from './extras.js'
import {
  checkAddTaskOptions,
  checkConcurrency,
  invalidTimeout,
  type TaskQueueOptions,
  taskQueueOptionsSchema,
} from './options.js'
import { Rejection } from './rejection.js'
import { Slot } from './slot.js'
import type { AddTaskOptions, Settle, TaskContext, TaskFn, TaskQueue, TaskQueueEvents } from './types.js'
import { TaskWaiters } from './waiters.js'

const NO_SIGNAL: TaskContext = Object.freeze({ signal: undefined })
/** Idle slots kept for reuse; beyond this (a burst at high concurrency) they are left to the GC. */
const MAX_IDLE_SLOTS = 1024

const channels = createChannels<{ 'task-error': { error: unknown } }>('queue', ['task-error'])

// `new Promise(capture)` hands the resolve function over without a closure per add.
let captured: Settle | undefined
const capture = (resolve: (value: never) => void): void => {
  captured = resolve as Settle
}

/**
 * Creates an in-process priority task queue: one chunked FIFO lane per priority, so adding and
 * taking a task cost O(1) at any depth, FIFO within a priority, bounded concurrency,
 * per-task timeouts and cancellation through `AbortSignal`.
 *
 * A queued task is three array slots (its fn, its promise's `resolve`, its enqueue
 * time) and no object of its own; a running task borrows a reusable slot. With
 * hundreds of thousands of tasks queued the garbage collector is the cost, so the
 * queue keeps per-task memory to the promise `add` must return.
 *
 * @example
 * const queue = createTaskQueue({ concurrency: 4 })
 * const report = await queue.add(({ signal }) => buildReport(userId, signal), { priority: 'HIGH', timeout: 5_000 })
 * await queue.onIdle()
 */
export function createTaskQueue(input: TaskQueueOptions = {}): TaskQueue {
  const options = parseOptions('createTaskQueue', taskQueueOptionsSchema, input)
  const clock: Clock = options.clock
  const defaultPriority = options.defaultPriority
  const events = createEmitter<TaskQueueEvents>((error) =>
    options.logger?.error({ err: error }, 'task queue listener threw'),
  )
  const buckets = new TaskBuckets()
  const idleSlots: Slot[] = []
  const waiters = new TaskWaiters()
  const waitTime = createLatencyHistogram()
  const runTime = createLatencyHistogram()
  let concurrency = options.concurrency
  let paused = !options.autoStart
  let closed = false
  /** Queued tasks, not counting cancelled ones still in `buckets`. */
  let size = 0
  let running = 0
  let added = 0
  let completed = 0
  let failed = 0
  let timedOut = 0
  let cancelled = 0

  // ---- Rate limit (interval / intervalCap, as p-queue): task starts per window ------------
  // `limited` is fixed at construction, so a queue without a rate limit pays one false test.
  const limited = options.interval !== undefined
  const interval = options.interval ?? 0
  const intervalCap = options.intervalCap ?? Number.POSITIVE_INFINITY
  let windowEnd = 0
  let windowStarts = 0
  let windowTimer: unknown

  const windowClosed = () => {
    windowTimer = undefined
    drain()
  }

  /** Whether another task may start in the current window; arms the timer that reopens it when not. */
  const windowOpen = (): boolean => {
    const now = clock.now()
    if (now >= windowEnd) {
      windowEnd = now + interval
      windowStarts = 0
    }
    if (windowStarts < intervalCap) return true
    if (windowTimer === undefined) {
      windowTimer = clock.setTimeout(windowClosed, windowEnd - now)
      // Unlike a timeout, this timer is the only thing left to run queued work: it keeps the
      // process alive (as p-queue's does), so `await queue.onIdle()` in a script finishes.
      ;(windowTimer as { ref?: () => void }).ref?.()
    }
    return false
  }

  const stopWindowTimer = () => {
    if (windowTimer === undefined) return
    clock.clearTimeout(windowTimer)
    windowTimer = undefined
  }

  const becameIdle = () => {
    waiters.notify(size, running)
    events.emit('idle', undefined)
  }

  const release = (slot: Slot) => {
    if (idleSlots.length < MAX_IDLE_SLOTS) idleSlots.push(slot)
  }

  /** Settles the task running in `slot`; returns the time, which the slot reuses as its next task's start. */
  const finish = (slot: Slot, ok: boolean, value: unknown): number => {
    const now = clock.now()
    running--
    const resolve = slot.resolve!
    slot.resolve = undefined
    const extras = slot.extras
    if (extras !== undefined) {
      slot.extras = undefined
      if (extras.timer !== undefined) clock.clearTimeout(extras.timer)
      extras.signal?.removeEventListener('abort', extras)
    }
    const runMs = now - slot.startedAt
    runTime.record(runMs)
    if (ok) {
      completed++
      resolve(value)
      if (events.has('completed'))
        events.emit('completed', { waitMs: slot.startedAt - slot.enqueuedAt, runMs })
    } else {
      failed++
      resolve(new Rejection(value))
      if (events.has('error')) events.emit('error', { error: value })
      channels['task-error'].publish({ error: value })
    }
    return now
  }

  /** The task in `slot` timed out: settle it, abort its signal, and give its place to the next task. */
  const expire = (slot: Slot, extras: TaskExtras) => {
    if (slot.extras !== extras) return
    extras.timer = undefined
    timedOut++
    const error = new TimeoutError(`The task timed out after ${extras.timeout} ms`)
    extras.controller!.abort(error)
    if (slot.extras !== extras) return
    finish(slot, false, error)
    // The fn may still settle later: the slot waits for it, then is freed (see `settled`).
    slot.abandoned = true
    drain()
    if (running === 0 && size === 0) becameIdle()
  }

  /** Arms a task's timeout and signal as it starts; returns the context its fn receives. */
  const begin = (slot: Slot, extras: TaskExtras): TaskContext => {
    extras.started = true
    const { signal, timeout } = extras
    if (timeout === undefined) {
      // Its fn watches the caller's signal itself: the queue's listener is no longer needed.
      signal?.removeEventListener('abort', extras)
      return signal ? { signal } : NO_SIGNAL
    }
    // With a timeout the fn gets a signal of its own; the caller's one (if any) stays
    // watched and forwards its abort (see `aborted`).
    const controller = new AbortController()
    extras.controller = controller
    extras.timer = clock.setTimeout(() => expire(slot, extras), timeout)
    // A running task's deadline may be all that will ever settle it (a task that waits for
    // its signal): like the window timer, it keeps the process alive, so a script awaiting
    // the task ends rather than exiting with the promise unsettled. It is cleared when the
    // task settles, so it never holds an idle process.
    ;(extras.timer as { ref?: () => void }).ref?.()
    return { signal: controller.signal }
  }

  /** A task's signal aborted: a queued task is dropped, a running one sees it through its own signal. */
  const aborted = (extras: TaskExtras) => {
    const reason = extras.signal!.reason
    if (extras.started) {
      extras.controller?.abort(reason)
      return
    }
    if (extras.cancelled) return
    extras.cancelled = true
    size--
    cancelled++
    extras.resolve(new Rejection(reason))
    waiters.notify(size, running)
  }

  /**
   * Starts a task in `slot` (already counted as running). Returns true when it runs
   * asynchronously: the slot's callbacks take over when its result settles. Returns
   * false when its fn threw synchronously; it is settled already and the slot is free.
   */
  const launch = (slot: Slot, entry: unknown, now: number): boolean => {
    slot.startedAt = now
    waitTime.record(now - slot.enqueuedAt)
    let fn: TaskFn
    let context: TaskContext = NO_SIGNAL
    if (typeof entry === 'function') fn = entry as TaskFn
    else {
      const extras = entry as TaskExtras
      slot.extras = extras
      fn = extras.fn
      context = begin(slot, extras)
    }
    let result: unknown
    try {
      result = fn(context)
    } catch (error) {
      if (slot.abandoned) slot.abandoned = false
      else finish(slot, false, error)
      return false
    }
    // Straight onto the result (no async wrapper, no closure): a native promise is
    // used as is, anything else is adopted (a plain value settles on the next tick).
    Promise.resolve(result).then(slot.ok, slot.fail)
    return true
  }

  /** Takes the next runnable task into `buckets.entry/resolve/time`, counted as running. */
  const take = (): boolean => {
    while (!paused && running < concurrency && size > 0) {
      if (limited && !windowOpen()) return false
      buckets.shift()
      const entry = buckets.entry
      if (typeof entry !== 'function' && (entry as TaskExtras).cancelled) {
        buckets.release()
        continue
      }
      size--
      running++
      if (limited) windowStarts++
      return true
    }
    return false
  }

  /** Runs queued tasks in `slot` until one runs asynchronously, or frees the slot when none may start. */
  const pump = (slot: Slot, startAt: number): void => {
    let now = startAt
    while (take()) {
      const entry = buckets.entry
      const resolve = buckets.resolve as Settle
      const enqueuedAt = buckets.time
      buckets.release()
      slot.resolve = resolve
      slot.enqueuedAt = enqueuedAt
      if (launch(slot, entry, now)) return
      now = clock.now()
    }
    release(slot)
    if (running === 0 && size === 0) becameIdle()
  }

  /** A running task's result settled (the callbacks of `Slot`). */
  const settled = (slot: Slot, ok: boolean, value: unknown): void => {
    if (slot.abandoned) {
      // Its task timed out earlier and another slot took its place.
      slot.abandoned = false
      release(slot)
      return
    }
    pump(slot, finish(slot, ok, value))
    // After the next task was taken, so `onSizeLessThan` sees the smaller queue at once.
    if (waiters.count > 0) waiters.notify(size, running)
  }

  const acquire = (): Slot => idleSlots.pop() ?? new Slot(settled)

  const drain = () => {
    while (!paused && running < concurrency && size > 0 && (!limited || windowOpen()))
      pump(acquire(), clock.now())
    waiters.notify(size, running)
  }

  const add = <T>(fn: (context: TaskContext) => T | PromiseLike<T>, opts?: AddTaskOptions): Promise<T> => {
    if (closed) return Promise.reject(new QueueClosedError('The task queue is closed'))
    let priority = defaultPriority
    let signal: AbortSignal | undefined
    let timeout = options.timeout
    if (opts !== undefined) {
      try {
        checkAddTaskOptions(opts)
      } catch (error) {
        return Promise.reject(error)
      }
      if (opts.priority !== undefined) priority = resolvePriority(opts.priority, defaultPriority)
      signal = opts.signal
      timeout = opts.timeout ?? timeout
    }
    if (timeout !== undefined && !(timeout > 0)) return Promise.reject(invalidTimeout(timeout))
    if (signal?.aborted) return Promise.reject(signal.reason)
    const promise = new Promise<T>(capture)
    const resolve = captured!
    captured = undefined
    added++
    const now = clock.now()
    let entry: unknown = fn
    // Not a function: queued with extras too, so it fails when run, like any throwing fn.
    if (signal !== undefined || timeout !== undefined || typeof fn !== 'function') {
      const extras = new TaskExtras(fn as TaskFn, resolve, signal, timeout)
      extras.onAbort = aborted
      signal?.addEventListener('abort', extras, { once: true })
      entry = extras
    }
    if (!paused && running < concurrency && size === 0 && (!limited || windowOpen())) {
      if (limited) windowStarts++
      running++
      const slot = acquire()
      slot.resolve = resolve
      slot.enqueuedAt = now
      if (!launch(slot, entry, now)) pump(slot, clock.now())
      return promise
    }
    buckets.push(priority, entry, resolve, now)
    size++
    return promise
  }

  const clear = () => {
    buckets.drain((entry, resolve) => {
      if (typeof entry !== 'function') {
        const extras = entry as TaskExtras
        if (extras.cancelled) return
        extras.cancelled = true
        extras.signal?.removeEventListener('abort', extras)
      }
      cancelled++
      ;(resolve as Settle)(new Rejection(new TaskClearedError()))
    })
    size = 0
    if (limited) stopWindowTimer()
    waiters.notify(size, running)
  }

  return {
    add,
    addAll(fns, opts) {
      return Promise.all(fns.map((fn) => add(fn, opts)))
    },
    onIdle: () => waiters.waitFor(0, true, size, running),
    onEmpty: () => waiters.waitFor(1, false, size, running),
    onSizeLessThan: (limit) => waiters.waitFor(limit, false, size, running),
    pause() {
      paused = true
    },
    resume() {
      if (!paused) return
      paused = false
      drain()
    },
    clear,
    get size() {
      return size
    },
    get pending() {
      return running
    },
    get isPaused() {
      return paused
    },
    get concurrency() {
      return concurrency
    },
    set concurrency(value: number) {
      checkConcurrency(value)
      concurrency = value
      drain()
    },
    stats() {
      return {
        size,
        pending: running,
        paused,
        added,
        completed,
        failed,
        timedOut,
        cancelled,
        waitTime: waitTime.summary(),
        runTime: runTime.summary(),
      }
    },
    on: events.on,
    async close() {
      closed = true
      clear()
      await waiters.waitFor(0, true, size, running)
      events.clear()
    },
  }
}
