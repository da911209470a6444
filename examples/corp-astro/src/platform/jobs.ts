import type { RedisClient } from '@headroom/core'
import {
  type AddJobOptions,
  createQueue,
  createQueueEvents,
  createWorker,
  type QueueEventsOptions,
  type QueueEventsSubscriber,
  type QueueStats,
  type Worker,
  type WorkerStats,
} from '@headroom/queue'
import type { JobData, JobHandlers, JobName } from '../jobs/handlers.js'
import { type AppLogger, boundLogger } from '../logger.js'

export type JobPriority = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW'

/** When daily content is pre-generated: every 15 minutes, so a deferred run catches up soon. */
export const CONTENT_PREGENERATE_CRON = '*/15 * * * *'

export interface AppJobs {
  add<Name extends JobName>(
    name: Name,
    data: JobData[Name],
    options?: Omit<AddJobOptions, 'priority'> & { priority?: JobPriority },
  ): Promise<string>
  /**
   * Starts this process's worker and upserts the cleanup's job scheduler (every process
   * does; each slot runs once, and the schedule lives in Redis across restarts).
   */
  start(handlers: JobHandlers, options: { cleanupIntervalMs: number; concurrency?: number }): void
  stats(): Promise<{ queue: QueueStats; worker: WorkerStats | null }>
  /** Subscribes to the queue's events (every process's jobs); close it before the jobs. */
  events(options?: QueueEventsOptions): QueueEventsSubscriber
  close(): Promise<void>
}

const NAMES: JobName[] = [
  'monthly-report',
  'notification',
  'analytics-batch',
  'content-cleanup',
  'content-pregenerate',
]

/** The queue's retry policy: exponential backoff with jitter (jitter only lengthens a delay). */
export const JOB_RETRY = { attempts: 5, minDelayMs: 500, factor: 2, maxDelayMs: 30_000, randomize: true }

/**
 * Attempts of a job whose work was acknowledged to a client (analytics events answered
 * 202, a monthly report answered 202, the notification that it is ready): it must outlive
 * a plausible database or Redis outage. With {@link JOB_RETRY}'s backoff, 10 attempts wait
 * at least 121.5 s in all (0.5 + 1 + 2 + 4 + 8 + 16 + 30 + 30 + 30 s); the default 5 wait
 * 7.5 s, less than a 10 s shard outage (the fault suite lost a report that way).
 */
export const ACKNOWLEDGED_JOB_ATTEMPTS = 10

/** The jobs that carry acknowledged work (see {@link ACKNOWLEDGED_JOB_ATTEMPTS}). */
export const ACKNOWLEDGED_JOBS: ReadonlySet<JobName> = new Set<JobName>([
  'analytics-batch',
  'monthly-report',
  'notification',
])

/**
 * The least total backoff between the first and the last of `attempts` attempts
 * (no jitter), mirroring `@headroom/queue`'s backoff formula.
 */
export function minRetryBudgetMs(retry: typeof JOB_RETRY, attempts: number): number {
  let total = 0
  for (let attempt = 1; attempt < attempts; attempt++)
    total += Math.min(retry.maxDelayMs, retry.minDelayMs * retry.factor ** (attempt - 1))
  return total
}

/**
 * Background jobs on `@headroom/queue`: durable in Redis when there is one (every
 * worker process claims from the same queue, a job whose worker died runs again),
 * in memory otherwise. Priorities follow the tier; while the health monitor says
 * `critical`, MEDIUM and LOW jobs wait so the request path keeps the CPU.
 */
export function createAppJobs(options: {
  redis: RedisClient | undefined
  prefix: string
  logger: AppLogger
  /** The health status, for shedding; undefined turns shedding off (Headroom off). */
  status: (() => 'healthy' | 'degraded' | 'critical') | undefined
}): AppJobs {
  const logger = options.logger.child({ component: 'jobs' })
  const queue = createQueue({
    name: 'jobs',
    ...(options.redis ? { redis: options.redis } : {}),
    prefix: `${options.prefix}:q`,
    names: NAMES,
    retry: JOB_RETRY,
    leaseMs: 10_000,
    timeoutMs: 30_000,
    // Report-ready notifications follow completions (src/reports/notifier.ts).
    events: true,
    retention: {
      completed: { count: 1_000, ageMs: 3_600_000 },
      failed: { count: 10_000, ageMs: 7 * 86_400_000 },
    },
    ...(options.status
      ? { shedding: { status: options.status, mode: 'wait' as const, minPriority: 'HIGH' } }
      : {}),
    logger: boundLogger(options.logger),
  })
  queue.on('failed', ({ name, id, error }) =>
    logger.error({ job: name, id, err: error }, 'job failed for good'),
  )
  let worker: Worker | undefined

  return {
    add: (name, data, opts) =>
      queue.add(
        name,
        data,
        // Acknowledged work must survive an outage longer than the default budget.
        ACKNOWLEDGED_JOBS.has(name) && opts?.attempts === undefined
          ? { ...opts, attempts: ACKNOWLEDGED_JOB_ATTEMPTS }
          : opts,
      ),
    start(handlers, { cleanupIntervalMs, concurrency = 8 }) {
      worker = createWorker(
        queue,
        Object.fromEntries(
          Object.entries(handlers).map(([name, handler]) => [
            name,
            (job: { data: unknown; signal: AbortSignal }) =>
              (handler as (data: unknown, signal: AbortSignal) => Promise<unknown>)(job.data, job.signal),
          ]),
        ),
        // An idle worker blocks on Redis until a job is added or due, so it costs no
        // polling and picks up a job added by another process at once.
        { concurrency },
      )
      // One slot per interval, run once however many processes upsert it.
      queue
        .upsertJobScheduler(
          'content-cleanup',
          { every: cleanupIntervalMs },
          { name: 'content-cleanup', data: {}, options: { priority: 'LOW' } },
        )
        .catch((error: unknown) => logger.warn({ err: error }, 'could not schedule the cleanup'))
      // Daily content is made ahead of the day's first reads, in low load: the job stops
      // (until its next slot) as soon as the service is not healthy, and LOW jobs wait
      // while it is critical. The first slot after midnight UTC makes the new day's.
      queue
        .upsertJobScheduler(
          'content-pregenerate',
          { pattern: CONTENT_PREGENERATE_CRON, tz: 'UTC' },
          { name: 'content-pregenerate', data: {}, options: { priority: 'LOW' } },
        )
        .catch((error: unknown) =>
          logger.warn({ err: error }, 'could not schedule the content pre-generation'),
        )
    },
    async stats() {
      return { queue: await queue.stats(), worker: worker?.stats() ?? null }
    },
    events: (eventOptions) => createQueueEvents(queue, eventOptions),
    async close() {
      await worker?.close({ timeout: 5_000 })
      await queue.close()
    },
  }
}
