// createQueue: a durable queue's producer side (add, addBulk, getJob, stats, admin and
// scheduling verbs) on a memory or Redis store. Workers and event subscribers made on a
// queue reach its store and its stats through `link()`, a method of the class the queue
// is, not of the public `Queue` type.
import {
  type Clock,
  childLogger,
  createEmitter,
  describeValue,
  type Emitter,
  type Logger,
  parseOptions,
  QueueClosedError,
} from '@headroom/core'
import type { JobStore } from '../store/job-store.js'
import { createEvictionGuard, type EvictionGuard } from './eviction-policy.js'
import { toJobInfo } from './job-info.js'
import { checkBulkJob, createJobPreparer } from './job-preparer.js'
import { createQueueAdmin } from './queue-admin.js'
import { QueueMetrics } from './queue-metrics.js'
import { type QueueOptions, queueOptionsSchema, type ResolvedQueueOptions } from './queue-options.js'
import { Shedding } from './queue-shedding.js'
import { createQueueStore } from './queue-store.js'
import type { Queue, QueueAdmin, QueueEvents } from './queue-types.js'
import { createRepeats, type Repeats } from './repeat.js'

/** Something made on a queue that its `close()` closes first (a worker). */
export interface QueueMember {
  close(): Promise<void>
}

/** What a worker or an events subscriber of a queue works with. Not part of the public API. */
export interface QueueLink {
  readonly store: JobStore
  readonly options: ResolvedQueueOptions
  readonly clock: Clock
  readonly logger: Logger
  /** The queue's emitter: a worker emits its events there too. */
  readonly events: Emitter<QueueEvents>
  readonly metrics: QueueMetrics
  /** The least urgent priority workers may claim now (load shedding), or undefined for all. */
  claimCeiling(): number | undefined
  /** Job schedulers: a worker that claims a scheduler's job schedules its next slot. */
  readonly repeats: Repeats
  /** The queue's `close()` has begun. */
  readonly closed: boolean
  /** Registers a worker for the queue's `close()`; throws `E_QUEUE_CLOSED` once the queue is closed. */
  join(member: QueueMember): void
  leave(member: QueueMember): void
}

/**
 * A durable queue. Its public verbs are arrow properties, so a detached `queue.add`
 * works as the object-literal queue did.
 */
export class DurableQueue implements Queue {
  readonly name: string
  readonly #link: QueueLink
  readonly #members = new Set<QueueMember>()
  readonly #eviction: EvictionGuard
  readonly #admin: QueueAdmin
  readonly #shedding: Shedding
  /** Validates and encodes a job for the store (add, addBulk, job schedulers). */
  readonly #prepare: ReturnType<typeof createJobPreparer>
  #closed = false

  constructor(options: ResolvedQueueOptions) {
    this.name = options.name
    const clock = options.clock
    const logger = childLogger(options.logger, { component: 'queue', queue: options.name })
    const store = createQueueStore(options, clock)
    const events = createEmitter<QueueEvents>((error, event) =>
      logger.error({ err: error, event }, 'queue listener threw'),
    )
    this.#shedding = new Shedding(options, events)
    const shedding = this.#shedding
    this.#prepare = createJobPreparer(options, (name, priority) => shedding.admit(name, priority))
    this.#eviction = createEvictionGuard({
      redis: options.redis,
      mode: options.evictionPolicy,
      timeoutMs: options.commandTimeoutMs,
      logger,
      events,
    })
    this.#admin = createQueueAdmin(store)
    const members = this.#members
    const isClosed = () => this.#closed
    this.#link = Object.freeze({
      store,
      options,
      clock,
      logger,
      events,
      metrics: new QueueMetrics(),
      get closed() {
        return isClosed()
      },
      claimCeiling: () => shedding.claimCeiling(),
      repeats: createRepeats({ store, clock, logger, prepare: this.#prepare }),
      join(member: QueueMember) {
        if (isClosed()) throw new QueueClosedError(`Queue "${options.name}" is closed`)
        members.add(member)
      },
      leave(member: QueueMember) {
        members.delete(member)
      },
    })
  }

  /** The store, settings and stats verbs its workers and event subscribers use. */
  link(): QueueLink {
    return this.#link
  }

  #open(): void {
    if (this.#closed) throw new QueueClosedError(`Queue "${this.name}" is closed`)
  }

  /** Under 'warn' the eviction check never delays an add; under 'refuse' only until it has passed. */
  async #admitted(): Promise<void> {
    if (!this.#eviction.admitted && this.#link.options.evictionPolicy === 'refuse')
      await this.#eviction.ready()
  }

  readonly add: Queue['add'] = async (name, data, opts) => {
    this.#open()
    const job = this.#prepare(name, data, opts)
    await this.#admitted()
    const [id] = await this.#link.store.add([job])
    this.#link.metrics.added(1)
    return id!
  }

  readonly addBulk: Queue['addBulk'] = async (jobs) => {
    this.#open()
    if (!Array.isArray(jobs))
      throw new TypeError(`addBulk expects an array of jobs (received ${describeValue(jobs)})`)
    const prepared = jobs.map((job) => {
      checkBulkJob(job)
      return this.#prepare(job?.name, job?.data, job?.options)
    })
    if (prepared.length === 0) return []
    await this.#admitted()
    const ids = await this.#link.store.add(prepared, true)
    this.#link.metrics.added(ids.length)
    return ids
  }

  readonly getJob: Queue['getJob'] = async <Data>(id: string) => {
    const found = await this.#link.store.getJob(id)
    if (!found) return undefined
    return toJobInfo<Data>(id, found)
  }

  readonly stats: Queue['stats'] = async () => {
    const { store, options, metrics } = this.#link
    const counts = await store.counts()
    const counters = metrics.snapshot()
    return {
      name: options.name,
      store: store.kind,
      waiting: counts.waiting,
      delayed: counts.delayed,
      active: counts.active,
      completed: counts.completed,
      failed: counts.failed,
      oldestWaitMs: counts.oldestReadyAt === undefined ? 0 : Math.max(0, counts.now - counts.oldestReadyAt),
      added: counters.added,
      processed: counters.processed,
      failures: counters.failures,
      retries: counters.retries,
      stalled: counters.stalled,
      leaseLost: counters.leaseLost,
      shedding: {
        critical: this.#shedding.critical(),
        refused: this.#shedding.refused(),
        deferredClaims: counters.deferredClaims,
      },
      waitTime: counters.waitTime,
      runTime: counters.runTime,
    }
  }

  // Operator verbs: argument checks and chunking live in queue-admin.ts.
  readonly getJobs: Queue['getJobs'] = (state, options) => this.#admin.getJobs(state, options)
  readonly getJobCounts: Queue['getJobCounts'] = () => this.#admin.getJobCounts()
  readonly retryJobs: Queue['retryJobs'] = (options) => this.#admin.retryJobs(options)
  readonly retryJob: Queue['retryJob'] = (id) => this.#admin.retryJob(id)
  readonly remove: Queue['remove'] = (id) => this.#admin.remove(id)
  readonly clean: Queue['clean'] = (state, ageMs, limit) => this.#admin.clean(state, ageMs, limit)
  readonly ready: Queue['ready'] = () => this.#eviction.ready()

  // Scheduling: job schedulers (repeatable jobs) and the queue-wide pause.
  readonly upsertJobScheduler: Queue['upsertJobScheduler'] = async (id, repeat, template) => {
    this.#open()
    return this.#link.repeats.upsert(id, repeat, template)
  }
  readonly getJobSchedulers: Queue['getJobSchedulers'] = () => this.#link.repeats.list()
  readonly removeJobScheduler: Queue['removeJobScheduler'] = (id) => this.#link.repeats.remove(id)
  readonly pause: Queue['pause'] = () => this.#link.store.setPaused(true)
  readonly resume: Queue['resume'] = () => this.#link.store.setPaused(false)
  readonly isPaused: Queue['isPaused'] = () => this.#link.store.isPaused()

  readonly on: Queue['on'] = (event, listener) => this.#link.events.on(event, listener)
  readonly obliterate: Queue['obliterate'] = () => this.#link.store.obliterate()
  readonly close: Queue['close'] = async () => {
    if (this.#closed) return
    this.#closed = true
    await Promise.all([...this.#members].map((member) => member.close()))
    this.#eviction.close()
    this.#link.store.close()
    this.#link.events.clear()
  }
}

/**
 * Creates a durable job queue. With `redis` its jobs are shared by every process
 * (all keys in one hash slot, so it works on a Cluster); without it, jobs live in
 * this process.
 *
 * @example
 * const queue = createQueue({ name: 'reports', redis, leaseMs: 2_000, retry: { attempts: 5 } })
 * await queue.add('monthly-report', { userId: 42 }, { priority: 'HIGH' })
 * await queue.add('notify', { userId: 42 }, { delay: 60_000, priority: 'LOW' })
 * const worker = createWorker(queue, { 'monthly-report': async (job) => build(job.data), notify: send })
 */
export function createQueue(input: QueueOptions): Queue {
  return new DurableQueue(parseOptions('createQueue', queueOptionsSchema, input))
}

/** The link of a queue made by {@link createQueue}; `caller` names the function for the error. */
export function linkOf(queue: Queue, caller: string): QueueLink {
  if (!(queue instanceof DurableQueue)) throw new TypeError(`${caller} expects a queue made by createQueue`)
  return queue.link()
}
