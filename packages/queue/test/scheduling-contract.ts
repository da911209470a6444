import type { RedisClient } from '@headroom/core'
import { waitUntil } from '@headroom/testing'
import { CronExpressionParser } from 'cron-parser'
import { afterEach, expect, it } from 'vitest'
import { createWorker, type Worker } from '../src/index.js'
import { deferred, queueFactory } from './helpers.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The scheduling promises every store keeps: job schedulers, pause, rate limit, idle wake-ups. */
export function schedulingContract(redis: () => RedisClient | undefined, prefix: () => string): void {
  const factory = queueFactory(redis, prefix)
  const workers: Worker[] = []
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.close()))
    await factory.cleanup()
  })
  const onRedis = () => redis() !== undefined

  it('a job scheduler with `every` runs once per slot, on slot boundaries, even when upserted twice', async () => {
    const queue = factory.make()
    const runs: { id: string; data: unknown }[] = []
    const first = await queue.upsertJobScheduler('tick', { every: 200 }, { name: 'tick', data: { n: 1 } })
    expect(first.next % 200).toBe(0)
    // Upserting the same scheduler again (another process starting) adds nothing.
    expect(await queue.upsertJobScheduler('tick', { every: 200 }, { name: 'tick', data: { n: 1 } })).toEqual(
      first,
    )
    // A second queue object on the same store and prefix stands for a second process.
    const other = onRedis() ? factory.make({ prefix: factory.lastPrefix }) : queue
    await other.upsertJobScheduler('tick', { every: 200 }, { name: 'tick', data: { n: 1 } })
    workers.push(createWorker(queue, { tick: (job) => void runs.push({ id: job.id, data: job.data }) }))
    workers.push(createWorker(other, { tick: (job) => void runs.push({ id: job.id, data: job.data }) }))
    await waitUntil(() => runs.length >= 4, { what: '4 slots', timeoutMs: 10_000 })
    const slots = runs.map((run) => Number(run.id.split(':').pop()))
    expect(new Set(slots).size).toBe(slots.length)
    for (const slot of slots) expect(slot % 200).toBe(0)
    expect(runs[0]).toEqual({ id: `repeat:tick:${first.next}`, data: { n: 1 } })
    // Later slots only: a slot claimed late schedules the next one after now (no catch-up burst).
    const sorted = [...slots].sort((a, b) => a - b)
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBeGreaterThanOrEqual(200)
  })

  it('lists job schedulers and removes one: its pending slot goes and it runs no more', async () => {
    const queue = factory.make()
    await queue.upsertJobScheduler(
      'nightly',
      { pattern: '0 3 * * *', tz: 'Europe/Paris' },
      { name: 'report', data: { kind: 'nightly' }, options: { priority: 'LOW' } },
    )
    await queue.upsertJobScheduler('often', { every: 150 }, { name: 'ping' })
    const expected = CronExpressionParser.parse('0 3 * * *', { currentDate: new Date(), tz: 'Europe/Paris' })
      .next()
      .getTime()
    const list = await queue.getJobSchedulers()
    expect(list).toEqual([
      {
        id: 'nightly',
        pattern: '0 3 * * *',
        tz: 'Europe/Paris',
        name: 'report',
        data: { kind: 'nightly' },
        priority: 300,
        next: expected,
      },
      { id: 'often', every: 150, name: 'ping', data: null, priority: 200, next: expect.any(Number) },
    ])
    expect((await queue.stats()).delayed).toBe(2)
    const pings: string[] = []
    workers.push(createWorker(queue, { ping: (job) => void pings.push(job.id) }))
    await waitUntil(() => pings.length >= 2, { what: 'two pings' })
    expect(await queue.removeJobScheduler('often')).toBe(true)
    expect(await queue.removeJobScheduler('often')).toBe(false)
    const seen = pings.length
    await sleep(500)
    // At most the slot claimed while the removal was on its way.
    expect(pings.length).toBeLessThanOrEqual(seen + 1)
    expect((await queue.getJobSchedulers()).map((s) => s.id)).toEqual(['nightly'])
    expect((await queue.stats()).delayed).toBe(1)
  })

  it('a changed job scheduler replaces its pending slot', async () => {
    const queue = factory.make()
    await queue.upsertJobScheduler('daily', { pattern: '0 9 * * *', tz: 'America/New_York' }, { name: 'a' })
    const changed = await queue.upsertJobScheduler('daily', { pattern: '30 9 * * *' }, { name: 'b', data: 2 })
    expect(changed.next).toBe(
      CronExpressionParser.parse('30 9 * * *', { currentDate: new Date(), tz: 'UTC' }).next().getTime(),
    )
    const stats = await queue.stats()
    expect(stats.delayed).toBe(1)
    expect((await queue.getJob(`repeat:daily:${changed.next}`))?.name).toBe('b')
    expect(await queue.getJobSchedulers()).toMatchObject([
      { id: 'daily', pattern: '30 9 * * *', name: 'b', data: 2 },
    ])
  })

  it('refuses a bad job scheduler with an error that says what to fix, and stores nothing', async () => {
    const queue = factory.make()
    await expect(queue.upsertJobScheduler('x', { pattern: 'every day' }, { name: 'a' })).rejects.toThrow(
      /job scheduler "x": cron pattern "every day"/,
    )
    await expect(
      queue.upsertJobScheduler('x', { pattern: '* * * * *', every: 5 }, { name: 'a' }),
    ).rejects.toThrow(/exactly one of pattern \(cron\) or every \(ms\)/)
    await expect(
      queue.upsertJobScheduler('x', { pattern: '* * * * *', tz: 'Mars/Olympus' }, { name: 'a' }),
    ).rejects.toThrow(/time zone "Mars\/Olympus"/)
    await expect(
      queue.upsertJobScheduler('x', { every: 1000 }, { name: 'a', options: { delay: 5 } as never }),
    ).rejects.toThrow(/options.delay and options.jobId come from the schedule/)
    await expect(queue.upsertJobScheduler('', { every: 1000 }, { name: 'a' })).rejects.toThrow(
      /non-empty string/,
    )
    expect(await queue.getJobSchedulers()).toEqual([])
  })

  it('pause() stops claims queue-wide; a running job finishes; resume() starts them again', async () => {
    const queue = factory.make()
    const started: string[] = []
    const release = deferred()
    const slowStarted = deferred()
    workers.push(
      createWorker(
        queue,
        {
          slow: async () => {
            slowStarted.resolve()
            await release.promise
            return 'done'
          },
          fast: (job) => void started.push(job.id),
        },
        { concurrency: 4 },
      ),
    )
    const slow = await queue.add('slow', {})
    await slowStarted.promise
    await queue.pause()
    expect(await queue.isPaused()).toBe(true)
    await queue.add('fast', {})
    await queue.add('fast', {})
    release.resolve()
    await waitUntil(async () => (await queue.getJob(slow))?.state === 'completed', { what: 'slow finished' })
    await sleep(400)
    expect(started).toEqual([])
    expect((await queue.stats()).waiting.medium).toBe(2)
    await queue.resume()
    expect(await queue.isPaused()).toBe(false)
    await waitUntil(() => started.length === 2, { what: 'jobs after resume', timeoutMs: 3_000 })
  })

  it('the rate limit holds across workers: at most max jobs start in any window', async () => {
    const max = 3
    const durationMs = 400
    const queue = factory.make({ limiter: { max, durationMs } })
    const starts: number[] = []
    const handler = () => void starts.push(Date.now())
    for (let i = 0; i < 2; i++) workers.push(createWorker(queue, { job: handler }, { concurrency: 5 }))
    await queue.addBulk(Array.from({ length: 9 }, (_, i) => ({ name: 'job', data: { i } })))
    await waitUntil(() => starts.length === 9, { what: 'all jobs', timeoutMs: 10_000 })
    starts.sort((a, b) => a - b)
    // The window is Redis' (or the store's) clock; local start times carry some delivery
    // jitter, so windows a little shorter than durationMs are checked.
    for (let i = 0; i + max < starts.length; i++)
      expect(starts[i + max]! - starts[i]!).toBeGreaterThan(durationMs - 100)
  })

  it('an idle worker is woken by an add from another queue object rather than waiting out its poll', async () => {
    const queue = factory.make()
    const producer = onRedis() ? factory.make({ prefix: factory.lastPrefix }) : queue
    const ran = deferred<number>()
    workers.push(createWorker(queue, { job: () => ran.resolve(Date.now()) }, { pollIntervalMs: 60_000 }))
    await sleep(300)
    const added = Date.now()
    await producer.add('job', {})
    // 60 s of polling would time this out: only a wake-up runs it.
    const at = await Promise.race([ran.promise, sleep(5_000).then(() => Number.NaN)])
    expect(at - added).toBeLessThan(5_000)
  })

  it('an idle worker claims a delayed job when it is due, not at its next poll', async () => {
    const queue = factory.make()
    const ran = deferred<number>()
    workers.push(createWorker(queue, { later: () => ran.resolve(Date.now()) }, { pollIntervalMs: 60_000 }))
    await sleep(200)
    const added = Date.now()
    await queue.add('later', {}, { delay: 400 })
    const at = await Promise.race([ran.promise, sleep(5_000).then(() => Number.NaN)])
    expect(at - added).toBeGreaterThanOrEqual(390)
    expect(at - added).toBeLessThan(5_000)
  })
}
