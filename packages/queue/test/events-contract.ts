import type { RedisClient } from '@headroom/core'
import { waitUntil } from '@headroom/testing'
import { afterEach, expect, it } from 'vitest'
import {
  createQueueEvents,
  createWorker,
  type Job,
  type QueueEventMap,
  type QueueEventsSubscriber,
  UnrecoverableError,
} from '../src/index.js'
import { deferred, queueFactory, storeOf } from './helpers.js'

/** Events, progress and waitUntilFinished: the same behaviour on memory, Redis and Redis Cluster. */
export function eventsContract(redis: () => RedisClient | undefined, prefix: () => string): void {
  const factory = queueFactory(redis, prefix)
  const subscribers: QueueEventsSubscriber[] = []
  const subscribe = (...args: Parameters<typeof createQueueEvents>) => {
    const events = createQueueEvents(...args)
    subscribers.push(events)
    return events
  }
  afterEach(async () => {
    for (const events of subscribers.splice(0)) await events.close()
    await factory.cleanup()
  })

  /** Every event of every kind, in the order read. */
  const record = (events: QueueEventsSubscriber) => {
    const seen: { event: string; jobId: string; payload: Record<string, unknown> }[] = []
    for (const event of [
      'added',
      'active',
      'progress',
      'completed',
      'failed',
      'retrying',
      'stalled',
    ] as const) {
      events.on(event, (payload: QueueEventMap[typeof event]) =>
        seen.push({
          event,
          jobId: (payload as { jobId: string }).jobId,
          payload: payload as Record<string, unknown>,
        }),
      )
    }
    return seen
  }

  it('a subscriber sees added, active, progress, completed (with the return value) and failed (with the error), in order', async () => {
    const queue = factory.make({ events: true, retry: { attempts: 1 } })
    const events = subscribe(queue)
    await events.ready()
    const seen = record(events)
    const ok = await queue.add('render', { n: 2 })
    const bad = await queue.add('broken', {})
    const worker = createWorker(queue, {
      render: async (job: Job<{ n: number }>) => {
        await job.updateProgress(50)
        await job.updateProgress({ step: 'done', of: 2 })
        return { url: `/r/${job.data.n}` }
      },
      broken: () => {
        throw new UnrecoverableError('no such user')
      },
    })
    await waitUntil(
      () => seen.some((e) => e.event === 'failed') && seen.some((e) => e.event === 'completed'),
      {
        what: 'completed and failed events',
      },
    )
    await worker.close()
    const of = (id: string) => seen.filter((e) => e.jobId === id)
    expect(of(ok).map((e) => e.event)).toEqual(['added', 'active', 'progress', 'progress', 'completed'])
    expect(of(ok)[0]!.payload).toMatchObject({ name: 'render', delay: 0 })
    expect(of(ok)[1]!.payload).toMatchObject({ attempt: 1 })
    expect(
      of(ok)
        .slice(2, 4)
        .map((e) => e.payload.data),
    ).toEqual([50, { step: 'done', of: 2 }])
    expect(of(ok)[4]!.payload.returnvalue).toEqual({ url: '/r/2' })
    expect(of(bad).map((e) => e.event)).toEqual(['added', 'active', 'failed'])
    expect(of(bad)[2]!.payload).toMatchObject({
      failedReason: 'no such user',
      error: { message: 'no such user', code: 'E_UNRECOVERABLE' },
    })
    // Event ids only grow, and lastEventId is the newest read.
    const ids = seen.map((e) => e.payload.eventId as string)
    expect(events.lastEventId).toBe(ids.at(-1))
    expect((await queue.getJob(ok))?.progress).toEqual({ step: 'done', of: 2 })
  })

  it('retries and delayed adds are events too', async () => {
    const queue = factory.make({ events: true, retry: { attempts: 2, minDelayMs: 10, randomize: false } })
    const events = subscribe(queue)
    await events.ready()
    const seen = record(events)
    const id = await queue.add('flaky', {})
    const later = await queue.add('flaky', {}, { delay: 60_000 })
    const worker = createWorker(queue, {
      flaky: (job) => {
        if (job.attempt === 1) throw new Error('first try fails')
        return job.attempt
      },
    })
    await waitUntil(() => seen.some((e) => e.event === 'completed'), { what: 'completed' })
    await worker.close()
    expect(seen.filter((e) => e.jobId === id).map((e) => e.event)).toEqual([
      'added',
      'active',
      'retrying',
      'active',
      'completed',
    ])
    expect(seen.find((e) => e.event === 'retrying')!.payload).toMatchObject({
      failedReason: 'first try fails',
      delay: 10,
    })
    expect(seen.find((e) => e.event === 'completed')!.payload.returnvalue).toBe(2)
    expect(seen.find((e) => e.jobId === later)!.payload).toMatchObject({ delay: 60_000 })
  })

  it('a job whose lease expired is reported stalled, and runs again', async () => {
    const queue = factory.make({ events: true, leaseMs: 200 })
    const events = subscribe(queue)
    await events.ready()
    const seen = record(events)
    const id = await queue.add('work', {})
    // A worker that claims the job and dies (it never renews nor settles).
    const store = storeOf(queue)
    const { jobs } = await store.claim({ count: 1, leaseMs: 200, maxPriority: undefined })
    expect(jobs.map((j) => j.id)).toEqual([id])
    await new Promise((resolve) => setTimeout(resolve, 300))
    const worker = createWorker(queue, { work: () => 'ok' }, { pollIntervalMs: 20 })
    await waitUntil(() => seen.some((e) => e.event === 'completed'), { what: 'completed after the stall' })
    await worker.close()
    expect(seen.map((e) => e.event)).toEqual(['added', 'active', 'stalled', 'active', 'completed'])
    expect(seen[3]!.payload).toMatchObject({ attempt: 2 })
  })

  it('progress is fenced by the lease: a worker that lost it cannot report', async () => {
    const queue = factory.make({ events: true, leaseMs: 200 })
    const events = subscribe(queue)
    await events.ready()
    const seen = record(events)
    const id = await queue.add('work', {})
    const store = storeOf(queue)
    const first = (await store.claim({ count: 1, leaseMs: 200, maxPriority: undefined })).jobs[0]!
    expect(await store.progress(id, first.token, '10')).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 300))
    const second = (await store.claim({ count: 1, leaseMs: 5000, maxPriority: undefined })).jobs[0]!
    expect(second.id).toBe(id)
    expect(await store.progress(id, first.token, '99')).toBe(false)
    expect(await store.progress(id, second.token, '20')).toBe(true)
    expect((await queue.getJob(id))?.progress).toBe(20)
    await waitUntil(() => seen.filter((e) => e.event === 'progress').length === 2, {
      what: 'progress events',
    })
    expect(seen.filter((e) => e.event === 'progress').map((e) => e.payload.data)).toEqual([10, 20])
  })

  it('updateProgress rejects with E_LEASE_LOST after the attempt ended, and refuses what is not JSON', async () => {
    const queue = factory.make({ events: true })
    const late = deferred<Job>()
    const refused = deferred<unknown[]>()
    const worker = createWorker(queue, {
      work: async (job) => {
        const errors: unknown[] = []
        for (const value of [undefined, () => 1, Number.NaN, 'x'.repeat(70_000)])
          await job.updateProgress(value).catch((error: unknown) => errors.push(error))
        refused.resolve(errors)
        late.resolve(job)
      },
    })
    await queue.add('work', {})
    const errors = await refused.promise
    expect(errors).toHaveLength(4)
    expect(String(errors[0])).toMatch(/expects a number or a JSON value/)
    expect(String(errors[3])).toMatch(/64 KiB|under 65536/)
    const job = await late.promise
    await waitUntil(async () => (await queue.getJob(job.id))?.state === 'completed', { what: 'completed' })
    await expect(job.updateProgress(100)).rejects.toMatchObject({ code: 'E_LEASE_LOST' })
    await worker.close()
  })

  it('waitUntilFinished resolves with the return value, rejects with the failure, also when the job finished before the call', async () => {
    const queue = factory.make({ events: true, retry: { attempts: 1 } })
    const events = subscribe(queue)
    const gate = deferred()
    const worker = createWorker(queue, {
      sum: async (job: Job<{ a: number; b: number }>) => {
        await gate.promise
        return job.data.a + job.data.b
      },
      fail: () => {
        throw new Error('boom')
      },
    })
    const running = await queue.add('sum', { a: 1, b: 2 })
    const pending = events.waitUntilFinished<number>(running)
    gate.resolve()
    expect(await pending).toBe(3)
    const failing = await queue.add('fail', {})
    await expect(events.waitUntilFinished(failing)).rejects.toMatchObject({
      code: 'E_JOB_FAILED',
      cause: { message: 'boom' },
    })
    // Both already finished: read from their state, no event needed.
    expect(await events.waitUntilFinished(running)).toBe(3)
    await expect(events.waitUntilFinished(failing)).rejects.toMatchObject({ code: 'E_JOB_FAILED' })
    await worker.close()
    await expect(events.waitUntilFinished('no-such-job')).rejects.toMatchObject({ code: 'E_JOB_NOT_FOUND' })
    const stuck = await queue.add('sum', { a: 0, b: 0 })
    await expect(events.waitUntilFinished(stuck, 50)).rejects.toMatchObject({ code: 'E_TIMEOUT' })
  })

  it('a completed job that retention removed at once still resolves from its event', async () => {
    const queue = factory.make({ events: true, retention: { completed: { count: 0 } } })
    const events = subscribe(queue)
    const gate = deferred()
    const worker = createWorker(queue, {
      work: async () => {
        await gate.promise
        return 'kept in the event'
      },
    })
    const id = await queue.add('work', {})
    const result = events.waitUntilFinished(id)
    await events.ready()
    gate.resolve()
    expect(await result).toBe('kept in the event')
    expect(await queue.getJob(id)).toBeUndefined()
    await worker.close()
  })

  it('a late subscriber catches up from lastEventId, within the bounded history', async () => {
    const queue = factory.make({ events: { maxLen: 100 } })
    const worker = createWorker(queue, { work: (job: Job<{ i: number }>) => job.data.i })
    const ids = await queue.addBulk(Array.from({ length: 10 }, (_, i) => ({ name: 'work', data: { i } })))
    for (const id of ids) await waitUntil(async () => (await queue.getJob(id))?.state === 'completed')
    const fromStart = subscribe(queue, { lastEventId: '0' })
    const all = record(fromStart)
    await waitUntil(() => all.filter((e) => e.event === 'completed').length === 10, {
      what: 'history replayed',
    })
    expect(all.filter((e) => e.event === 'completed').map((e) => e.payload.returnvalue)).toEqual(
      Array.from({ length: 10 }, (_, i) => i),
    )
    // Resume after the fifth completion: only the later events arrive.
    const fifth = all.filter((e) => e.event === 'completed')[4]!.payload.eventId as string
    const resumed = subscribe(queue, { lastEventId: fifth })
    const rest = record(resumed)
    await waitUntil(() => rest.filter((e) => e.event === 'completed').length === 5, { what: 'resumed' })
    expect(rest.filter((e) => e.event === 'completed').map((e) => e.payload.returnvalue)).toEqual([
      5, 6, 7, 8, 9,
    ])
    // Bounded: after many more events the stream holds about maxLen, not all of them.
    await queue.addBulk(Array.from({ length: 400 }, (_, i) => ({ name: 'work', data: { i } })))
    await waitUntil(async () => (await queue.stats()).completed >= 410, {
      what: 'all done',
      timeoutMs: 20_000,
    })
    await worker.close()
    const replay = subscribe(queue, { lastEventId: '0' })
    const replayed = record(replay)
    await replay.ready()
    await waitUntil(() => replayed.some((e) => e.payload.returnvalue === 399), {
      what: 'replay reached the end',
    })
    expect(replayed.length).toBeLessThan(600)
    expect(replayed.length).toBeGreaterThanOrEqual(100)
  })

  it('without events on, nothing is recorded (memory: createQueueEvents says how to turn them on)', async () => {
    const queue = factory.make()
    if (!redis()) {
      expect(() => createQueueEvents(queue)).toThrow(/events: true/)
      return
    }
    const worker = createWorker(queue, { work: () => 1 })
    const id = await queue.add('work', {})
    await waitUntil(async () => (await queue.getJob(id))?.state === 'completed')
    await worker.close()
    const events = subscribe(queue, { lastEventId: '0' })
    const seen = record(events)
    await events.ready()
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(seen).toEqual([])
  })

  it('refuses bad options with a message that names them', () => {
    const queue = factory.make({ events: true })
    expect(() => createQueueEvents(queue, { lastEventId: 'latest' })).toThrow(/lastEventId/)
    expect(() => createQueueEvents(queue, { blockMs: 0 })).toThrow(/blockMs/)
    expect(() => createQueueEvents(queue, { since: 1 } as never)).toThrow(/since/)
    expect(() => factory.make({ events: { maxLen: 5 } })).toThrow(/events/)
  })
}
