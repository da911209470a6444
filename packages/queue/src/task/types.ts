// The public shape of a task queue: what add() takes and what a task receives, the
// queue's events, stats and methods. Apart from task-queue.ts so that file holds the engine.
import type { LatencySummary } from '@headroom/core'
import type { PriorityInput } from '../shared/priority.js'

/** What a task function receives. */
export interface TaskContext {
  /** Aborted when the task times out, or when the caller's signal aborts. */
  signal: AbortSignal | undefined
}

/** Options of one {@link TaskQueue.add} call. */
export interface AddTaskOptions {
  /** `CRITICAL` > `HIGH` > `MEDIUM` > `LOW`, or 0 (first) .. 1000 (last). @default the queue's defaultPriority */
  priority?: PriorityInput
  /** Aborting it removes a queued task (rejecting with the reason) or aborts a running one's signal. */
  signal?: AbortSignal
  /** Per-task timeout in ms. @default the queue's timeout */
  timeout?: number
}

export interface TaskQueueEvents {
  [event: string]: unknown
  completed: { waitMs: number; runMs: number }
  error: { error: unknown }
  idle: undefined
}

export interface TaskQueueStats {
  /** Tasks waiting. */
  size: number
  /** Tasks running. */
  pending: number
  paused: boolean
  added: number
  completed: number
  failed: number
  timedOut: number
  /** Tasks removed before they ran (signal aborted, `clear()`). */
  cancelled: number
  waitTime: LatencySummary
  runTime: LatencySummary
}

/** An in-process priority queue with bounded concurrency. */
export interface TaskQueue {
  add<T>(fn: (context: TaskContext) => T | PromiseLike<T>, options?: AddTaskOptions): Promise<T>
  addAll<T>(
    fns: readonly ((context: TaskContext) => T | PromiseLike<T>)[],
    options?: AddTaskOptions,
  ): Promise<T[]>
  /** Resolves when nothing is queued or running. */
  onIdle(): Promise<void>
  /** Resolves when nothing is queued (tasks may still run). */
  onEmpty(): Promise<void>
  /** Resolves when fewer than `limit` tasks are queued (back-pressure for producers). */
  onSizeLessThan(limit: number): Promise<void>
  pause(): void
  resume(): void
  /** Drops every queued task; their promises reject with `E_TASK_CLEARED`. Running tasks go on. */
  clear(): void
  readonly size: number
  readonly pending: number
  readonly isPaused: boolean
  concurrency: number
  stats(): TaskQueueStats
  on<E extends keyof TaskQueueEvents & string>(
    event: E,
    listener: (payload: TaskQueueEvents[E]) => void,
  ): () => void
  /** Refuses new tasks (`E_QUEUE_CLOSED`), drops queued ones, and waits for running ones. */
  close(): Promise<void>
}

/** A task's promise settles through this alone (see {@link Rejection}); internal. */
export type Settle = (value: unknown) => void
/** A task as the queue runs it; internal. */
export type TaskFn = (context: TaskContext) => unknown
