import {
  type Clock,
  childLogger,
  createChannels,
  createEmitter,
  createLatencyHistogram,
  describeValue,
  type Emitter,
  type LatencyHistogram,
  type LatencySummary,
  type Logger,
  OverloadedError,
  parseOptions,
  QueueClosedError,
  systemClock,
} from '@headroom/core'
import { UnknownHandlerError } from './errors.js'
import type { JobInfo, JobPayload, JobState, JobStore, NewJob, StoreConfig } from './job.js'
import { createMemoryStore } from './memory-store.js'
import { type PriorityInput, resolvePriority } from './priority.js'
import {
  type HealthStatus,
  type QueueOptions,
  queueOptionsSchema,
  type ResolvedQueueOptions,
} from './queue-options.js'
import { createRedisStore } from './redis-store.js'
import { encodePayload, serializeData } from './serialize.js'

/** Options of one job. */
export interface AddJobOptions {
  /** `CRITICAL` > `HIGH` > `MEDIUM` > `LOW`, or 0 (first) .. 1000 (last). @default the queue's defaultPriority */
  priority?: PriorityInput
  /** Run no sooner than this many ms from now (by the store's clock). @default 0 */
  delay?: number
  /** A custom id: adding a job whose id exists is a no-op (idempotent producers). @default a sequence number */
  jobId?: string
  /** Attempts in all, overriding the queue's retry.attempts. @default the queue's */
  attempts?: number
  /** Per-attempt timeout in ms; the handler's signal aborts when it passes. @default the queue's timeoutMs */
  timeout?: number
}

/** One job for {@link Queue.addBulk}. */
export interface BulkJob<Data = unknown> {
  name: string
  data: Data
  options?: AddJobOptions
}

export interface QueueEvents {
  [event: string]: unknown
  completed: { id: string; name: string; attempt: number; runMs: number }
  failed: { id: string; name: string; attempt: number; error: unknown }
  retrying: { id: string; name: string; attempt: number; delayMs: number; error: unknown }
  stalled: { id: string }
  /** `add` refused a job under load shedding. */
  refused: { name: string; priority: number }
  /** A completion or failure was refused because the lease had moved on (fencing). */
  'lease-lost': { id: string }
  error: { error: unknown }
}

export interface QueueStats {
  name: string
  store: 'memory' | 'redis'
  /** Jobs waiting, by priority level. */
  waiting: { critical: number; high: number; medium: number; low: number }
  delayed: number
  active: number
  /** Finished jobs still retained. */
  completed: number
  failed: number
  /** How long the oldest waiting job has waited, in ms (0 when none). */
  oldestWaitMs: number
  /** Counters of this process. */
  added: number
  processed: number
  failures: number
  retries: number
  stalled: number
  /** Settlements refused because the lease had moved on (a late worker; duplicates avoided). */
  leaseLost: number
  shedding: { critical: boolean; refused: number; deferredClaims: number }
  /** Time from ready to claimed, and handler run time, as seen by this process's workers. */
  waitTime: LatencySummary
  runTime: LatencySummary
}

/** A durable priority job queue (memory or Redis); workers consume it with {@link createWorker}. */
export interface Queue {
  readonly name: string
  /** Adds a job; resolves to its id once the store acknowledged it. */
  add<Data>(name: string, data: Data, options?: AddJobOptions): Promise<string>
  /** Adds many jobs in few round trips; every job is validated before anything is written. */
  addBulk(jobs: readonly BulkJob[]): Promise<string[]>
  getJob<Data = unknown>(id: string): Promise<JobInfo<Data> | undefined>
  stats(): Promise<QueueStats>
  on<E extends keyof QueueEvents & string>(event: E, listener: (payload: QueueEvents[E]) => void): () => void
  /** Deletes every job and key of this queue (tests, teardown). */
  obliterate(): Promise<void>
  /** Refuses further adds and releases timers; it does not close the Redis client (you own it). */
  close(): Promise<void>
}

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
}

export const INTERNALS: unique symbol = Symbol('headroom.queue.internals')

const channels = createChannels<{ refused: { queue: string; name: string; priority: number } }>('queue', [
  'refused',
])

const STATES: Record<string, JobState> = {
  w: 'waiting',
  d: 'delayed',
  a: 'active',
  c: 'completed',
  f: 'failed',
}

function invalid(option: string, expected: string, value: unknown): TypeError {
  return new TypeError(
    `Invalid job option "${option}": expected ${expected} (received ${describeValue(value)})`,
  )
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
  const options = parseOptions('createQueue', queueOptionsSchema, input) as ResolvedQueueOptions
  const clock = options.clock ?? systemClock
  const logger = childLogger(options.logger, { component: 'queue', queue: options.name })
  const defaultPriority = resolvePriority(options.defaultPriority, 200, 'defaultPriority')
  const shedFloor = options.shedding ? resolvePriority(options.shedding.minPriority, 100) : undefined
  const config: StoreConfig = {
    completed: {
      count: options.retention.completed?.count ?? 1000,
      ageMs: options.retention.completed?.ageMs ?? 86_400_000,
    },
    failed: {
      count: options.retention.failed?.count ?? 10_000,
      ageMs: options.retention.failed?.ageMs ?? 604_800_000,
    },
    agingMs: options.agingMs,
    maxStalls: options.maxStalls,
  }
  const store: JobStore = options.redis
    ? createRedisStore({
        redis: options.redis,
        prefix: options.prefix,
        name: options.name,
        config,
        addTimeoutMs: options.addTimeoutMs,
        commandTimeoutMs: options.commandTimeoutMs,
      })
    : createMemoryStore(config, clock)
  const names = options.names ? new Set(options.names) : undefined
  const events = createEmitter<QueueEvents>((error, event) =>
    logger.error({ err: error, event }, 'queue listener threw'),
  )
  const counters = { processed: 0, failures: 0, retries: 0, stalled: 0, leaseLost: 0, deferredClaims: 0 }
  let added = 0
  let refused = 0
  let closed = false

  const critical = () => options.shedding !== undefined && options.shedding.status() === 'critical'

  /** Validates and encodes one job; throws before anything is written. */
  const prepare = (name: string, data: unknown, opts: AddJobOptions | undefined): NewJob => {
    if (typeof name !== 'string' || name.length === 0) throw invalid('name', 'a non-empty string', name)
    if (names && !names.has(name)) {
      throw new UnknownHandlerError(
        `Queue "${options.name}" has no job named "${name}" (known: ${[...names].join(', ')})`,
      )
    }
    const priority =
      opts?.priority === undefined
        ? defaultPriority
        : resolvePriority(opts.priority, defaultPriority, 'job option "priority"')
    const delay = opts?.delay ?? 0
    if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
      throw invalid('delay', 'a finite number of ms >= 0', delay)
    }
    const attempts = opts?.attempts ?? options.retry.attempts
    if (!Number.isInteger(attempts) || attempts < 1) throw invalid('attempts', 'an integer >= 1', attempts)
    const timeout = opts?.timeout ?? options.timeoutMs
    if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) {
      throw invalid('timeout', 'a finite number of ms >= 0', timeout)
    }
    const jobId = opts?.jobId ?? ''
    if (typeof jobId !== 'string' || (opts?.jobId !== undefined && jobId.length === 0)) {
      throw invalid('jobId', 'a non-empty string', opts?.jobId)
    }
    if (
      shedFloor !== undefined &&
      priority > shedFloor &&
      options.shedding?.mode === 'refuse' &&
      critical()
    ) {
      refused++
      events.emit('refused', { name, priority })
      channels.refused.publish({ queue: options.name, name, priority })
      throw new OverloadedError(
        `Queue "${options.name}" refused job "${name}" (priority ${priority}): the service is critical and sheds work below priority ${shedFloor}`,
      )
    }
    const payload = encodePayload(name, serializeData(data, name), attempts, timeout, priority)
    return { id: jobId, payload, priority, delayMs: Math.ceil(delay) }
  }

  const internals: QueueInternals = {
    store,
    options,
    clock,
    logger,
    events,
    waitTime: createLatencyHistogram(),
    runTime: createLatencyHistogram(),
    counters,
    claimCeiling() {
      if (shedFloor === undefined || !critical()) return undefined
      return shedFloor
    },
    workers: new Set(),
    get closed() {
      return closed
    },
  }

  const queue: Queue & { [INTERNALS]: QueueInternals } = {
    name: options.name,
    [INTERNALS]: internals,
    async add(name, data, opts) {
      if (closed) throw new QueueClosedError(`Queue "${options.name}" is closed`)
      const job = prepare(name, data, opts)
      const [id] = await store.add([job])
      added++
      return id!
    },
    async addBulk(jobs) {
      if (closed) throw new QueueClosedError(`Queue "${options.name}" is closed`)
      if (!Array.isArray(jobs))
        throw new TypeError(`addBulk expects an array of jobs (received ${describeValue(jobs)})`)
      const prepared = jobs.map((job) => prepare(job?.name, job?.data, job?.options))
      if (prepared.length === 0) return []
      const ids = await store.add(prepared, true)
      added += ids.length
      return ids
    },
    async getJob<Data>(id: string) {
      const found = await store.getJob(id)
      if (!found) return undefined
      const payload = JSON.parse(found.payload) as JobPayload
      const info: JobInfo<Data> = {
        id,
        name: payload.n,
        data: payload.d as Data,
        state: STATES[found.fields.st ?? ''] ?? 'waiting',
        priority: payload.p,
        attempts: Number(found.fields.a ?? 0),
        maxAttempts: payload.m,
        stalls: Number(found.fields.s ?? 0),
      }
      if (found.fields.e) info.error = JSON.parse(found.fields.e) as { message: string; code?: string }
      if (found.fields.r) info.result = JSON.parse(found.fields.r)
      return info
    },
    async stats() {
      const counts = await store.counts()
      return {
        name: options.name,
        store: store.kind,
        waiting: counts.waiting,
        delayed: counts.delayed,
        active: counts.active,
        completed: counts.completed,
        failed: counts.failed,
        oldestWaitMs: counts.oldestReadyAt === undefined ? 0 : Math.max(0, counts.now - counts.oldestReadyAt),
        added,
        processed: counters.processed,
        failures: counters.failures,
        retries: counters.retries,
        stalled: counters.stalled,
        leaseLost: counters.leaseLost,
        shedding: { critical: critical(), refused, deferredClaims: counters.deferredClaims },
        waitTime: internals.waitTime.summary(),
        runTime: internals.runTime.summary(),
      }
    },
    on: events.on,
    obliterate: () => store.obliterate(),
    async close() {
      if (closed) return
      closed = true
      await Promise.all([...internals.workers].map((worker) => worker.close()))
      store.close()
      events.clear()
    },
  }
  return queue
}

/** The internals of a queue made by {@link createQueue}. */
export function internalsOf(queue: Queue): QueueInternals {
  const internals = (queue as Queue & { [INTERNALS]?: QueueInternals })[INTERNALS]
  if (!internals) throw new TypeError('createWorker expects a queue made by createQueue')
  return internals
}

export type { HealthStatus }
