// What a queue shares with the workers made on it, kept off its public type: a worker
// reaches it through a symbol-keyed property of the queue object.
import type { Clock, Emitter, LatencyHistogram, Logger } from '@headroom/core'
import type { JobStore } from '../store/job-store.js'
import type { ResolvedQueueOptions } from './queue-options.js'
import type { Queue, QueueEvents } from './queue-types.js'
import type { Repeats } from './repeat.js'

/** What workers share with their queue (not part of the public API). */
export interface QueueInternals {
  store: JobStore
  options: ResolvedQueueOptions
  clock: Clock
  logger: Logger
  events: Emitter<QueueEvents>
  waitTime: LatencyHistogram
  runTime: LatencyHistogram
  counters: {
    processed: number
    failures: number
    retries: number
    stalled: number
    leaseLost: number
    deferredClaims: number
  }
  /** The least urgent priority workers may claim now (load shedding), or undefined for all. */
  claimCeiling(): number | undefined
  workers: Set<{ close(options?: { timeout?: number }): Promise<void> }>
  readonly closed: boolean
  /** Job schedulers: a worker that claims a scheduler's job schedules its next slot. */
  repeats: Repeats
}

export const INTERNALS: unique symbol = Symbol('headroom.queue.internals')

/** The internals of a queue made by {@link createQueue}. */
export function internalsOf(queue: Queue): QueueInternals {
  const internals = (queue as Queue & { [INTERNALS]?: QueueInternals })[INTERNALS]
  if (!internals) throw new TypeError('createWorker expects a queue made by createQueue')
  return internals
}
