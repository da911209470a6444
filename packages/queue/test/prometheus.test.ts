import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { createQueue, createWorker, type Queue } from '../src/index.js'
import { registerQueueMetrics } from '../src/prometheus.js'

const queues: Queue[] = []
afterEach(async () => {
  await Promise.all(queues.splice(0).map((queue) => queue.close()))
})

async function family(registry: Registry, name: string) {
  const metric = (await registry.getMetricsAsJSON()).find((candidate) => candidate.name === name)
  if (!metric) throw new Error(`no metric ${name}`)
  return metric
}
const sampleValue = async (registry: Registry, name: string, labels: Record<string, string>) =>
  (await family(registry, name)).values.find((value) =>
    Object.entries(labels).every(([key, label]) => value.labels[key] === label),
  )?.value

describe('registerQueueMetrics', () => {
  it('exports depth by priority as gauges, processed jobs as a counter, run time as a histogram', async () => {
    const registry = new Registry()
    const queue = createQueue({ name: 'emails' })
    queues.push(queue)
    let statsCalls = 0
    const counted: Pick<Queue, 'stats' | 'on'> = {
      stats: () => {
        statsCalls++
        return queue.stats()
      },
      on: queue.on,
    }
    registerQueueMetrics(registry, { emails: counted })

    await queue.add('welcome', {}, { priority: 'HIGH' })
    await queue.add('digest', {}, { priority: 'LOW' })
    await queue.add('digest', {}, { priority: 'LOW' })
    const waiting = await family(registry, 'headroom_queue_jobs_waiting')
    expect(waiting.type).toBe('gauge')
    expect(
      await sampleValue(registry, 'headroom_queue_jobs_waiting', { queue: 'emails', priority: 'high' }),
    ).toBe(1)
    expect(
      await sampleValue(registry, 'headroom_queue_jobs_waiting', { queue: 'emails', priority: 'low' }),
    ).toBe(2)
    expect(await sampleValue(registry, 'headroom_queue_jobs_added_total', { queue: 'emails' })).toBe(3)

    // A scrape's snapshot is dropped on the next macrotask; a later scrape reads anew.
    await new Promise((resolve) => setImmediate(resolve))
    statsCalls = 0
    await registry.metrics()
    // Every family of one scrape shares one stats() call.
    expect(statsCalls).toBe(1)

    const worker = createWorker(queue, { welcome: () => 'sent', digest: () => 'sent' })
    const deadline = Date.now() + 10_000
    while ((await queue.stats()).processed < 3 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20))
    await worker.close()

    expect((await family(registry, 'headroom_queue_jobs_processed_total')).type).toBe('counter')
    expect(await sampleValue(registry, 'headroom_queue_jobs_processed_total', { queue: 'emails' })).toBe(3)
    const runTime = await family(registry, 'headroom_queue_job_run_duration_seconds')
    expect(runTime.type).toBe('histogram')
    const count = runTime.values.find(
      (value) =>
        (value as { metricName?: string }).metricName === 'headroom_queue_job_run_duration_seconds_count',
    )
    expect(count?.value).toBe(3)
    expect(
      await sampleValue(registry, 'headroom_queue_jobs_waiting', { queue: 'emails', priority: 'low' }),
    ).toBe(0)
  })
})
