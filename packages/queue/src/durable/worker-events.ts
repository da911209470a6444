// What a worker tells the world: its events (each emitted on its queue too), diagnostics
// channels, and its counters and its queue's, chiefly as the store answers the
// settlements of its jobs.
import { createChannels, createEmitter, type Emitter, type Logger } from '@headroom/core'
import { LeaseLostError } from '../shared/errors.js'
import type { Settlement } from '../store/job-store.js'
import type { Lease } from './lease.js'
import type { QueueMetrics } from './queue-metrics.js'
import type { QueueEvents } from './queue-types.js'
import type { WorkerLeases } from './worker-leases.js'

const channels = createChannels<{
  completed: { queue: string; id: string; name: string; runMs: number }
  failed: { queue: string; id: string; name: string; error: unknown }
  stalled: { queue: string; id: string }
}>('queue', ['completed', 'failed', 'stalled'])

export interface WorkerEventsOptions {
  queueName: string
  logger: Logger
  /** The queue's emitter: the worker's events are emitted there too. */
  queueEvents: Emitter<QueueEvents>
  /** The queue's counters, which every worker of this process adds to. */
  metrics: QueueMetrics
  leases: WorkerLeases
}

export class WorkerEvents {
  readonly #queueName: string
  readonly #own: Emitter<QueueEvents>
  readonly #queueEvents: Emitter<QueueEvents>
  readonly #metrics: QueueMetrics
  readonly #leases: WorkerLeases
  #processed = 0
  #failures = 0
  #retries = 0
  #leaseLost = 0

  constructor(options: WorkerEventsOptions) {
    this.#queueName = options.queueName
    this.#queueEvents = options.queueEvents
    this.#metrics = options.metrics
    this.#leases = options.leases
    this.#own = createEmitter<QueueEvents>((error, event) =>
      options.logger.error({ err: error, event }, 'worker listener threw'),
    )
  }

  on<E extends keyof QueueEvents & string>(
    event: E,
    listener: (payload: QueueEvents[E]) => void,
  ): () => void {
    return this.#own.on(event, listener)
  }

  clear(): void {
    this.#own.clear()
  }

  emit<E extends keyof QueueEvents & string>(event: E, payload: QueueEvents[E]): void {
    this.#own.emit(event, payload)
    this.#queueEvents.emit(event, payload)
  }

  /** The store answered a settlement: `accepted` is false when our lease had moved on. */
  report(s: Settlement, accepted: boolean): void {
    const lease = this.#leases.settled(s.id, s.token)
    if (!accepted) {
      this.#leases.takeError(s.id)
      this.#leaseLost++
      this.#metrics.leaseLost()
      this.emit('lease-lost', { id: s.id })
      return
    }
    const name = lease?.name ?? ''
    const attempt = lease?.attempt ?? 0
    switch (s.outcome) {
      case 'completed': {
        this.#processed++
        this.#metrics.completed()
        const runMs = lease?.runMs ?? 0
        this.emit('completed', { id: s.id, name, attempt, runMs })
        if (channels.completed.hasSubscribers)
          channels.completed.publish({ queue: this.#queueName, id: s.id, name, runMs })
        break
      }
      case 'retry': {
        const error = this.#leases.takeError(s.id)
        this.#retries++
        this.#metrics.retried()
        this.emit('retrying', { id: s.id, name, attempt, delayMs: s.delayMs, error })
        break
      }
      case 'dead': {
        const error = this.#leases.takeError(s.id)
        this.#failures++
        this.#metrics.failed()
        this.emit('failed', { id: s.id, name, attempt, error })
        if (channels.failed.hasSubscribers)
          channels.failed.publish({ queue: this.#queueName, id: s.id, name, error })
        break
      }
      case 'release':
        break
    }
  }

  /** A claim recovered these jobs from leases that expired (their worker died or stalled). */
  stalled(ids: readonly string[]): void {
    for (const id of ids) {
      this.#metrics.stalled()
      this.emit('stalled', { id })
      if (channels.stalled.hasSubscribers) channels.stalled.publish({ queue: this.#queueName, id })
    }
  }

  /** Heartbeat learned the lease moved on: its handler's signal aborts, and settling it would be refused. */
  lost(lease: Lease): void {
    lease.lost = true
    this.#leaseLost++
    this.#metrics.leaseLost()
    lease.controller?.abort(new LeaseLostError(`The lease of job ${lease.id} was lost`))
    this.emit('lease-lost', { id: lease.id })
    if (lease.done) this.#leases.drop(lease.id)
  }

  counts(): { processed: number; failures: number; retries: number; leaseLost: number } {
    return {
      processed: this.#processed,
      failures: this.#failures,
      retries: this.#retries,
      leaseLost: this.#leaseLost,
    }
  }
}
