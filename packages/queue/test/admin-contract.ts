import type { RedisClient } from '@headroom/core'
import { waitUntil } from '@headroom/testing'
import { afterEach, expect, it } from 'vitest'
import { createWorker, type Queue, UnrecoverableError } from '../src/index.js'
import { queueFactory, storeOf } from './helpers.js'

/** Dead-letters `n` jobs (UnrecoverableError), one at a time in add order, and returns their ids. */
async function failJobs(queue: Queue, n: number, data: (i: number) => unknown = (i) => ({ i })) {
  const ids = await queue.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'fail', data: data(i) })))
  const worker = createWorker(
    queue,
    {
      fail: () => {
        throw new UnrecoverableError('broken')
      },
    },
    { concurrency: 1, batchSize: 1 },
  )
  await waitUntil(async () => (await queue.getJobCounts()).failed === n, {
    what: `${n} failed`,
    timeoutMs: 60_000,
  })
  await worker.close()
  return ids
}

/** The operator verbs (getJobs, getJobCounts, retryJobs, retryJob, remove, clean) on every store. */
export function adminContract(redis: () => RedisClient | undefined, prefix: () => string): void {
  const factory = queueFactory(redis, prefix)
  afterEach(() => factory.cleanup())

  it('lists waiting jobs newest first by default and in claim order with asc, a page at a time', async () => {
    const queue = factory.make()
    const a = await queue.add('x', { v: 'a' }, { priority: 'LOW' })
    const b = await queue.add('x', { v: 'b' }, { priority: 'HIGH' })
    const c = await queue.add('x', { v: 'c' }, { priority: 'LOW' })
    const d = await queue.add('x', { v: 'd' }, { priority: 'CRITICAL' })
    const ids = async (options?: Parameters<Queue['getJobs']>[1]) =>
      (await queue.getJobs('waiting', options)).map((job) => job.id)
    expect(await ids({ asc: true })).toEqual([d, b, a, c])
    expect(await ids()).toEqual([c, a, b, d])
    expect(await ids({ start: 1, end: 2, asc: true })).toEqual([b, a])
    expect(await ids({ start: 10 })).toEqual([])
    const [first] = await queue.getJobs<{ v: string }>('waiting', { asc: true, end: 0 })
    expect(first).toMatchObject({
      id: d,
      name: 'x',
      data: { v: 'd' },
      state: 'waiting',
      priority: 0,
      attempts: 0,
    })
  })

  it('lists delayed jobs by due time and active jobs with their attempt', async () => {
    const queue = factory.make()
    const late = await queue.add('x', {}, { delay: 60_000 })
    const soon = await queue.add('x', {}, { delay: 30_000 })
    expect((await queue.getJobs('delayed', { asc: true })).map((job) => job.id)).toEqual([soon, late])
    expect((await queue.getJobs('delayed')).map((job) => job.id)).toEqual([late, soon])

    const running = await queue.add('x', { v: 1 })
    // A worker that claimed the job and holds it (no heartbeat needed within the lease).
    await storeOf(queue).claim({ count: 1, leaseMs: 60_000, maxPriority: undefined })
    const active = await queue.getJobs('active')
    expect(active).toEqual([expect.objectContaining({ id: running, state: 'active', attempts: 1 })])
  })

  it('lists completed and failed (dead) jobs newest first, with their results and errors', async () => {
    const queue = factory.make()
    const done = await queue.addBulk([0, 1, 2].map((i) => ({ name: 'ok', data: { i } })))
    const worker = createWorker(queue, { ok: (job) => job.data }, { concurrency: 1, batchSize: 1 })
    await waitUntil(async () => (await queue.getJobCounts()).completed === 3, { what: '3 completed' })
    await worker.close()
    const completed = await queue.getJobs('completed')
    expect(completed.map((job) => job.id)).toEqual([...done].reverse())
    expect(completed[0]).toMatchObject({ state: 'completed', result: { i: 2 }, attempts: 1 })

    const failed = await failJobs(queue, 2)
    const dead = await queue.getJobs('dead')
    expect(dead.map((job) => job.id)).toEqual([...failed].reverse())
    expect(dead[0]).toMatchObject({ state: 'failed', error: { message: 'broken', code: 'E_UNRECOVERABLE' } })
    expect((await queue.getJobs('failed', { asc: true })).map((job) => job.id)).toEqual(failed)
  })

  it('counts jobs per state and waiting jobs per priority', async () => {
    const queue = factory.make()
    await queue.addBulk([
      { name: 'x', data: 1, options: { priority: 'CRITICAL' } },
      { name: 'x', data: 2, options: { priority: 'HIGH' } },
      { name: 'x', data: 3, options: { priority: 'HIGH' } },
      { name: 'x', data: 4, options: { priority: 'LOW' } },
      { name: 'x', data: 5, options: { delay: 60_000 } },
    ])
    await storeOf(queue).claim({ count: 1, leaseMs: 60_000, maxPriority: undefined })
    expect(await queue.getJobCounts()).toEqual({
      waiting: 3,
      delayed: 1,
      active: 1,
      completed: 0,
      failed: 0,
      waitingByPriority: { critical: 0, high: 2, medium: 0, low: 1 },
    })
  })

  it('retries failed jobs oldest first with their attempts reset, and a worker runs them again', async () => {
    const queue = factory.make({ retry: { attempts: 2 } })
    const ids = await failJobs(queue, 3)
    expect(await queue.retryJobs({ state: 'failed', count: 2 })).toBe(2)
    expect((await queue.getJobs('waiting', { asc: true })).map((job) => job.id)).toEqual(ids.slice(0, 2))
    const back = await queue.getJob(ids[0]!)
    expect(back).toMatchObject({ state: 'waiting', attempts: 0, stalls: 0 })
    expect(back?.error).toBeUndefined()
    expect(await queue.retryJob(ids[2]!)).toBe(true)
    expect(await queue.retryJob(ids[2]!)).toBe(false)
    expect(await queue.retryJob('no-such-job')).toBe(false)
    expect(await queue.getJobCounts()).toMatchObject({ waiting: 3, failed: 0 })

    const seen: number[] = []
    const worker = createWorker(queue, { fail: (job) => void seen.push(job.attempt) })
    await waitUntil(async () => (await queue.getJobCounts()).completed === 3, { what: 'retried jobs ran' })
    await worker.close()
    expect(seen).toEqual([1, 1, 1])
  })

  it('a retried job is not trimmed by the retention of the failed state it left', async () => {
    const queue = factory.make({ retention: { failed: { count: 1 } } })
    const [first] = await failJobs(queue, 1)
    expect(await queue.retryJob(first!)).toBe(true)
    // Held by a worker, so the next failures cannot pick it up.
    await storeOf(queue).claim({ count: 1, leaseMs: 60_000, maxPriority: undefined })
    const later = await queue.addBulk([0, 1].map((i) => ({ name: 'fail', data: { i } })))
    const worker = createWorker(queue, {
      fail: () => {
        throw new UnrecoverableError('broken')
      },
    })
    await waitUntil(async () => (await queue.getJob(later[1]!))?.state === 'failed', { what: 'both failed' })
    await worker.close()
    // Two failures pushed the failed set past its count of 1: the oldest failure went, the retried job stayed.
    expect(await queue.getJob(first!)).toMatchObject({ state: 'active' })
    expect(await queue.getJob(later[0]!)).toBeUndefined()
    expect(await queue.getJobCounts()).toMatchObject({ active: 1, failed: 1 })
  })

  it('retries and cleans more jobs than one chunk (1000), each chunk atomic', async () => {
    const queue = factory.make()
    await failJobs(queue, 1200, () => null)
    expect(await queue.retryJobs({ state: 'dead' })).toBe(1200)
    expect(await queue.getJobCounts()).toMatchObject({ waiting: 1200, failed: 0 })
    expect(await queue.retryJobs()).toBe(0)
    // Back to failed, then cleaned: all of them, across two chunks.
    const worker = createWorker(
      queue,
      {
        fail: () => {
          throw new UnrecoverableError('broken')
        },
      },
      { concurrency: 50 },
    )
    await waitUntil(async () => (await queue.getJobCounts()).failed === 1200, {
      what: 'failed again',
      timeoutMs: 60_000,
    })
    await worker.close()
    expect(await queue.clean('failed', 0, 1100)).toHaveLength(1100)
    expect(await queue.clean('failed', 0)).toHaveLength(100)
    expect(await queue.getJobCounts()).toMatchObject({ failed: 0 })
  }, 150_000)

  it('removes waiting, delayed, completed and failed jobs, and refuses an active one', async () => {
    const queue = factory.make()
    const waiting = await queue.add('x', {})
    const delayed = await queue.add('x', {}, { delay: 60_000 })
    expect(await queue.remove(waiting)).toBe(true)
    expect(await queue.remove(delayed)).toBe(true)
    expect(await queue.remove(waiting)).toBe(false)
    expect(await queue.getJob(waiting)).toBeUndefined()

    const [failed] = await failJobs(queue, 1)
    expect(await queue.remove(failed!)).toBe(true)

    const running = await queue.add('x', {})
    const claimed = await storeOf(queue).claim({
      count: 1,
      leaseMs: 60_000,
      maxPriority: undefined,
    })
    await expect(queue.remove(running)).rejects.toMatchObject({
      code: 'E_JOB_ACTIVE',
      message: expect.stringContaining(`Job "${running}" is active`),
    })
    expect(await queue.getJob(running)).toMatchObject({ state: 'active' })
    // Once settled it is an ordinary completed job, and goes.
    const [job] = claimed.jobs
    expect(await storeOf(queue).settle([{ id: job!.id, token: job!.token, outcome: 'completed' }])).toEqual([
      true,
    ])
    expect(await queue.remove(running)).toBe(true)
    expect(await queue.getJobCounts()).toMatchObject({
      waiting: 0,
      delayed: 0,
      active: 0,
      completed: 0,
      failed: 0,
    })
  })

  it('cleans finished jobs older than ageMs, oldest first, up to a limit', async () => {
    const queue = factory.make()
    const ids = await queue.addBulk([0, 1, 2, 3].map((i) => ({ name: 'ok', data: { i } })))
    const worker = createWorker(queue, { ok: () => 'done' }, { concurrency: 1, batchSize: 1 })
    await waitUntil(async () => (await queue.getJobCounts()).completed === 4, { what: '4 completed' })
    await worker.close()
    expect(await queue.clean('completed', 3_600_000)).toEqual([])
    await waitUntil(async () => (await queue.clean('completed', 0, 1)).length === 1, { what: 'cleaned one' })
    expect(await queue.clean('completed', 0, 2)).toEqual(ids.slice(1, 3))
    expect((await queue.getJobs('completed')).map((job) => job.id)).toEqual([ids[3]])
    expect(await queue.getJob(ids[0]!)).toBeUndefined()
    expect(await queue.clean('failed', 0)).toEqual([])
  })

  it('refuses bad arguments with errors that name them', async () => {
    const queue = factory.make()
    await expect(queue.getJobs('paused' as 'waiting')).rejects.toThrow(
      'Invalid getJobs state: expected one of waiting, delayed, active, completed, failed, dead (received "paused")',
    )
    await expect(queue.getJobs('waiting', { start: 0, end: 1000 })).rejects.toThrow(
      'a page spans at most 1000 jobs',
    )
    await expect(queue.getJobs('waiting', { start: 5, end: 2 })).rejects.toThrow('Invalid getJobs end')
    await expect(queue.getJobs('waiting', { from: 0 } as never)).rejects.toThrow(
      'Invalid getJobs option "from"',
    )
    await expect(queue.retryJobs({ state: 'completed' as 'failed' })).rejects.toThrow(
      'Invalid retryJobs state',
    )
    await expect(queue.retryJobs({ count: 0 })).rejects.toThrow('Invalid retryJobs count')
    await expect(queue.clean('waiting' as 'completed', 0)).rejects.toThrow('Invalid clean state')
    await expect(queue.clean('completed', -1)).rejects.toThrow('Invalid clean ageMs')
    await expect(queue.remove('')).rejects.toThrow('Invalid remove id')
  })
}
