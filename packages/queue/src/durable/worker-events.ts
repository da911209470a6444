// What a worker tells the world: its events (each emitted on its queue too), diagnostics
// channels, and the counters of the worker and its queue, chiefly as the store answers
// the settlements of its jobs.
import { createChannels, createEmitter, type Emitter, type Logger } from '@headroom/core'
import { LeaseLostError } from '../shared/errors.js'
import type { Settlement } from '../store/job-store.js'
import type { Lease } from './lease.js'
import type { QueueInternals } from './queue-internals.js'
import type { QueueEvents } from './queue-types.js'

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
  counters: QueueInternals['counters']
  /** The worker's leases by job id. */
  held: Map<string, Lease>
  /** The error of each failed job whose settlement is not acknowledged yet. */
  lastErrors: Map<string, unknown>
}

export function createWorkerEvents(options: WorkerEventsOptions) {
  const { queueName, logger, queueEvents, counters, held, lastErrors } = options
  const events = createEmitter<QueueEvents>((error, event) =>
    logger.error({ err: error, event }, 'worker listener threw'),
  )
  const emit = <E extends keyof QueueEvents & string>(event: E, payload: QueueEvents[E]) => {
    events.emit(event, payload)
    queueEvents.emit(event, payload)
  }
  let processed = 0
  let failures = 0
  let retries = 0
  let leaseLost = 0

  /** The error a failed job's settlement carries, forgotten once the store answered it. */
  const takeError = (id: string) => {
    const error = lastErrors.get(id)
    lastErrors.delete(id)
    return error
  }

  /** The store answered a settlement: `accepted` is false when our lease had moved on. */
  const report = (s: Settlement, accepted: boolean) => {
    const lease = held.get(s.id)
    if (lease?.token === s.token) held.delete(s.id)
    if (!accepted) {
      lastErrors.delete(s.id)
      leaseLost++
      counters.leaseLost++
      emit('lease-lost', { id: s.id })
      return
    }
    const name = lease?.name ?? ''
    const attempt = lease?.attempt ?? 0
    switch (s.outcome) {
      case 'completed': {
        processed++
        counters.processed++
        const runMs = lease?.runMs ?? 0
        emit('completed', { id: s.id, name, attempt, runMs })
        if (channels.completed.hasSubscribers)
          channels.completed.publish({ queue: queueName, id: s.id, name, runMs })
        break
      }
      case 'retry': {
        const error = takeError(s.id)
        retries++
        counters.retries++
        emit('retrying', { id: s.id, name, attempt, delayMs: s.delayMs, error })
        break
      }
      case 'dead': {
        const error = takeError(s.id)
        failures++
        counters.failures++
        emit('failed', { id: s.id, name, attempt, error })
        if (channels.failed.hasSubscribers)
          channels.failed.publish({ queue: queueName, id: s.id, name, error })
        break
      }
      case 'release':
        break
    }
  }

  /** A claim recovered these jobs from leases that expired (their worker died or stalled). */
  const stalled = (ids: readonly string[]) => {
    for (const id of ids) {
      counters.stalled++
      emit('stalled', { id })
      if (channels.stalled.hasSubscribers) channels.stalled.publish({ queue: queueName, id })
    }
  }

  /** Heartbeat learned the lease moved on: its handler's signal aborts, and settling it would be refused. */
  const lost = (lease: Lease) => {
    lease.lost = true
    leaseLost++
    counters.leaseLost++
    lease.controller?.abort(new LeaseLostError(`The lease of job ${lease.id} was lost`))
    emit('lease-lost', { id: lease.id })
    if (lease.done) held.delete(lease.id)
  }

  return {
    on: events.on,
    clear: events.clear,
    emit,
    report,
    stalled,
    lost,
    counts: () => ({ processed, failures, retries, leaseLost }),
  }
}
