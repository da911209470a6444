// createQueue: a durable queue's producer side (add, addBulk, getJob, stats) on a memory
// or Redis store. Its types, internals, job checks, load shedding, store choice and stats
// live in files of their own.
import {
  childLogger,
  createEmitter,
  createLatencyHistogram,
  describeValue,
  parseOptions,
  QueueClosedError,
  systemClock,
} from '@headroom/core'
import { createEvictionGuard } from './eviction-policy.js'
import { toJobInfo } from './job-info.js'
import { checkBulkJob, createJobPreparer } from './job-preparer.js'
import { createQueueAdmin } from './queue-admin.js'
import { INTERNALS, type QueueInternals } from './queue-internals.js'
import { type QueueOptions, queueOptionsSchema, type ResolvedQueueOptions } from './queue-options.js'
import { createShedding } from './queue-shedding.js'
import { queueStats } from './queue-stats.js'
import { createQueueStore } from './queue-store.js'
import type { Queue, QueueEvents } from './queue-types.js'
import { createRepeats } from './repeat.js'

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
  const options = parseOptions('createQueue', queueOptionsSchema, input) as ResolvedQueueOptions
  const clock = options.clock ?? systemClock
  const logger = childLogger(options.logger, { component: 'queue', queue: options.name })
  const store = createQueueStore(options, clock)
  const events = createEmitter<QueueEvents>((error, event) =>
    logger.error({ err: error, event }, 'queue listener threw'),
  )
  const shedding = createShedding(options, events)
  const prepare = createJobPreparer(options, shedding.admit)
  const eviction = createEvictionGuard({
    redis: options.redis,
    mode: options.evictionPolicy,
    timeoutMs: options.commandTimeoutMs,
    logger,
    events,
  })
  const counters = { processed: 0, failures: 0, retries: 0, stalled: 0, leaseLost: 0, deferredClaims: 0 }
  let added = 0
  let closed = false
  const repeats = createRepeats({ store, clock, logger, prepare })

  const internals: QueueInternals = {
    store,
    options,
    clock,
    logger,
    events,
    waitTime: createLatencyHistogram(),
    runTime: createLatencyHistogram(),
    counters,
    claimCeiling: shedding.claimCeiling,
    workers: new Set(),
    get closed() {
      return closed
    },
    repeats,
  }

  const queue: Queue & { [INTERNALS]: QueueInternals } = {
    name: options.name,
    [INTERNALS]: internals,
    async add(name, data, opts) {
      if (closed) throw new QueueClosedError(`Queue "${options.name}" is closed`)
      const job = prepare(name, data, opts)
      // Under 'warn' the check never delays an add; under 'refuse' only until it has passed.
      if (!eviction.admitted && options.evictionPolicy === 'refuse') await eviction.ready()
      const [id] = await store.add([job])
      added++
      return id!
    },
    async addBulk(jobs) {
      if (closed) throw new QueueClosedError(`Queue "${options.name}" is closed`)
      if (!Array.isArray(jobs))
        throw new TypeError(`addBulk expects an array of jobs (received ${describeValue(jobs)})`)
      const prepared = jobs.map((job) => {
        checkBulkJob(job)
        return prepare(job?.name, job?.data, job?.options)
      })
      if (prepared.length === 0) return []
      if (!eviction.admitted && options.evictionPolicy === 'refuse') await eviction.ready()
      const ids = await store.add(prepared, true)
      added += ids.length
      return ids
    },
    async getJob<Data>(id: string) {
      const found = await store.getJob(id)
      if (!found) return undefined
      return toJobInfo<Data>(id, found)
    },
    async stats() {
      const counts = await store.counts()
      return queueStats(internals, counts, added, shedding)
    },
    // Operator verbs: getJobs, getJobCounts, retryJobs, retryJob, remove, clean.
    ...createQueueAdmin(store),
    ready: () => eviction.ready(),

    // Scheduling: job schedulers (repeatable jobs) and the queue-wide pause.
    async upsertJobScheduler(id, repeat, template) {
      if (closed) throw new QueueClosedError(`Queue "${options.name}" is closed`)
      return repeats.upsert(id, repeat, template)
    },
    getJobSchedulers: () => repeats.list(),
    removeJobScheduler: (id) => repeats.remove(id),
    pause: () => store.setPaused(true),
    resume: () => store.setPaused(false),
    isPaused: () => store.isPaused(),

    on: events.on,
    obliterate: () => store.obliterate(),
    async close() {
      if (closed) return
      closed = true
      await Promise.all([...internals.workers].map((worker) => worker.close()))
      eviction.close()
      store.close()
      events.clear()
    },
  }
  return queue
}
