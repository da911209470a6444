// prom-client collectors for durable queues. Counts are read from `queue.stats()` when
// Prometheus scrapes (prom-client `collect()`); the run-time histogram observes each
// `completed` event, a listener that exists only while the metrics are registered.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { Queue, QueueStats } from './durable/queue-types.js'

/** Buckets of `headroom_queue_job_run_duration_seconds`: 5 ms to 5 minutes. */
export const JOB_RUN_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
]

/** A queue, or anything with its `stats()`; without `on` the run-time histogram stays empty. */
type QueueSource = Pick<Queue, 'stats'> & Partial<Pick<Queue, 'on'>>

/**
 * Registers the queue metrics (`headroom_queue_*`, label `queue` = the record key) in
 * `registry`. Returns a function that removes them and the event listeners again.
 *
 * @example
 * import { Registry } from 'prom-client'
 * import { createQueue } from '@headroom/queue'
 * import { registerQueueMetrics } from '@headroom/queue/prometheus'
 *
 * const registry = new Registry()
 * const emails = createQueue({ name: 'emails' })
 * registerQueueMetrics(registry, { emails })
 * await emails.add('welcome', { to: 'ada@example.com' })
 * console.log(await registry.metrics())
 * await emails.close()
 */
export function registerQueueMetrics(
  registry: Registry,
  queues: Readonly<Record<string, QueueSource>>,
): () => void {
  const before = new Set(registry.getMetricsAsArray().map((metric) => metric.name))
  const entries = Object.entries(queues)

  // stats() of a Redis queue is a round trip: one per queue per scrape, shared by every
  // family (prom-client starts every collect() of a scrape in the same tick).
  let scrape: Promise<[string, QueueStats | undefined][]> | undefined
  const snapshot = () => {
    scrape ??= Promise.all(
      entries.map(async ([name, queue]): Promise<[string, QueueStats | undefined]> => {
        // A queue that cannot answer (Redis down) is left out; the scrape still answers.
        const stats = await queue.stats().catch(() => undefined)
        return [name, stats]
      }),
    ).finally(() => setImmediate(() => (scrape = undefined)))
    return scrape
  }
  const each = async (read: (stats: QueueStats, queue: string) => void) => {
    for (const [name, stats] of await snapshot()) if (stats) read(stats, name)
  }
  const gauge = (
    name: string,
    help: string,
    value: (stats: QueueStats) => number,
    aggregator: 'sum' | 'max',
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ['queue'],
      aggregator,
      registers: [registry],
      async collect() {
        this.reset()
        await each((stats, queue) => this.set({ queue }, value(stats)))
      },
    })
  const counter = (name: string, help: string, value: (stats: QueueStats) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['queue'],
      registers: [registry],
      async collect() {
        this.reset()
        await each((stats, queue) => this.inc({ queue }, value(stats)))
      },
    })

  // The store's counts are the same for every worker process: across cluster workers
  // they take the max, where this process's counters add up.
  new Gauge({
    name: 'headroom_queue_jobs_waiting',
    help: 'Jobs waiting, by priority level (critical, high, medium, low)',
    labelNames: ['queue', 'priority'],
    aggregator: 'max',
    registers: [registry],
    async collect() {
      this.reset()
      await each((stats, queue) => {
        for (const [priority, count] of Object.entries(stats.waiting)) this.set({ queue, priority }, count)
      })
    },
  })
  gauge('headroom_queue_jobs_delayed', 'Jobs delayed (backoff or a start time)', (s) => s.delayed, 'max')
  gauge('headroom_queue_jobs_active', 'Jobs running under a lease', (s) => s.active, 'max')
  gauge(
    'headroom_queue_oldest_wait_seconds',
    'How long the oldest waiting job has waited',
    (s) => s.oldestWaitMs / 1000,
    'max',
  )
  counter('headroom_queue_jobs_added_total', 'Jobs this process added', (s) => s.added)
  counter('headroom_queue_jobs_processed_total', "Jobs this process's workers completed", (s) => s.processed)
  counter(
    'headroom_queue_job_failures_total',
    "Handler failures in this process's workers",
    (s) => s.failures,
  )
  counter('headroom_queue_job_retries_total', 'Failed jobs scheduled for another attempt', (s) => s.retries)
  counter(
    'headroom_queue_jobs_stalled_total',
    'Jobs whose lease expired and were handed back',
    (s) => s.stalled,
  )
  counter(
    'headroom_queue_lease_lost_total',
    'Settlements refused because the lease had moved on',
    (s) => s.leaseLost,
  )
  counter('headroom_queue_jobs_refused_total', 'Adds refused by load shedding', (s) => s.shedding.refused)

  const runTime = new Histogram({
    name: 'headroom_queue_job_run_duration_seconds',
    help: 'Handler run time of completed jobs',
    labelNames: ['queue'],
    buckets: [...JOB_RUN_BUCKETS],
    registers: [registry],
  })
  const unsubscribe = entries.map(([name, queue]) =>
    queue.on?.('completed', ({ runMs }) => runTime.observe({ queue: name }, runMs / 1000)),
  )

  const added = registry.getMetricsAsArray().filter((metric) => !before.has(metric.name))
  return () => {
    for (const off of unsubscribe) off?.()
    for (const metric of added) registry.removeSingleMetric(metric.name)
  }
}
