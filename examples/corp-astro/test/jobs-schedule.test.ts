import type { RedisClient } from '@headroom/core'
import { createQueue } from '@headroom/queue'
import { describeRedis, waitUntil } from '@headroom/testing'
import { afterEach, describe, expect, it } from 'vitest'
import type { JobHandlers } from '../src/jobs/handlers.js'
import { createLogger } from '../src/logger.js'
import { type AppJobs, CONTENT_PREGENERATE_CRON, createAppJobs } from '../src/platform/jobs.js'

const logger = createLogger({ logLevel: 'silent' })

/** Handlers that only record the cleanup runs (by job id, which names the slot). */
function recordingHandlers(runs: string[], instance: number): JobHandlers {
  const noop = async () => undefined
  return {
    'monthly-report': noop,
    notification: noop,
    'analytics-batch': noop,
    'content-cleanup': async () => {
      runs.push(String(instance))
      return { removed: 0 }
    },
    'content-pregenerate': noop,
  } as unknown as JobHandlers
}

/**
 * The content cleanup runs once per interval however many instances of the service run,
 * from a job scheduler that lives in the queue's store.
 */
function cleanupScheduleContract(
  redis: () => RedisClient | undefined,
  prefix: () => string,
  instances: number,
) {
  const started: AppJobs[] = []
  afterEach(async () => {
    await Promise.all(started.splice(0).map((jobs) => jobs.close()))
  })

  it(`${instances} instance(s) starting the jobs run the cleanup once per interval`, async () => {
    const runs: string[] = []
    const shared = prefix()
    for (let i = 0; i < instances; i++) {
      const jobs = createAppJobs({ redis: redis(), prefix: shared, logger, status: undefined })
      jobs.start(recordingHandlers(runs, i), { cleanupIntervalMs: 1_000 })
      started.push(jobs)
    }
    await waitUntil(() => runs.length >= 3, { what: '3 cleanup runs', timeoutMs: 15_000 })
    const client = redis()
    if (client) {
      const queue = createQueue({ name: 'jobs', prefix: `${shared}:q`, redis: client })
      const schedulers = await queue.getJobSchedulers()
      expect(schedulers.find((scheduler) => scheduler.id === 'content-cleanup')).toMatchObject({
        every: 1_000,
        name: 'content-cleanup',
        priority: 300,
      })
      expect(schedulers.find((scheduler) => scheduler.id === 'content-pregenerate')).toMatchObject({
        pattern: CONTENT_PREGENERATE_CRON,
        tz: 'UTC',
        name: 'content-pregenerate',
        priority: 300,
      })
      expect(schedulers).toHaveLength(2)
      // Every run is a distinct slot's job (its id names the slot): none ran twice.
      await waitUntil(async () => (await client.zcard(`{${shared}:q:jobs}:completed`)) >= runs.length, {
        what: 'runs acknowledged',
      })
      const ran = runs.length
      const completed = await client.zrange(`{${shared}:q:jobs}:completed`, 0, -1)
      const slots = completed.filter((id) => id.startsWith('repeat:content-cleanup:'))
      expect(slots.length).toBeGreaterThanOrEqual(ran)
      expect(runs.length).toBeLessThanOrEqual(slots.length + 1)
      await queue.close()
    }
  }, 60_000)
}

describe('cleanup schedule [memory]', () => {
  cleanupScheduleContract(
    () => undefined,
    () => 'mem',
    1,
  )
})

describeRedis('cleanup schedule', (target) => {
  let client: RedisClient | undefined
  cleanupScheduleContract(
    () => {
      client ??= target.client()
      return client
    },
    () => target.prefix('astro-jobs'),
    3,
  )
})
