import type { RedisClient } from '@headroom/core'
import { waitUntil } from '@headroom/testing'
import { afterEach, expect, it } from 'vitest'
import { createWorker, type Job, type QueueOptions, UnrecoverableError } from '../src/index.js'
import type { ClaimedJob } from '../src/store/job-store.js'
import { deferred, queueFactory, storeOf } from './helpers.js'

/** The behaviour every store must show; run against memory, Redis and Redis Cluster. */
export function jobStoreContract(
  redis: () => RedisClient | undefined,
  prefix: () => string,
  /** Options every queue of the suite gets (the suite runs again with `events: true`). */
  defaults: Partial<QueueOptions> = {},
): void {
  const factory = queueFactory(redis, prefix, defaults)
  const last = {
    get last() {
      return factory.lastPrefix
    },
  }
  afterEach(() => factory.cleanup())

  it('runs added jobs and keeps the completed ones with their result', async () => {
    const queue = factory.make()
    const id = await queue.add('double', { n: 21 })
    const worker = createWorker(
      queue,
      { double: (job: Job<{ n: number }>) => job.data.n * 2 },
      { concurrency: 2 },
    )
    await waitUntil(async () => (await queue.getJob(id))?.state === 'completed', { what: 'job completed' })
    expect(await queue.getJob(id)).toMatchObject({ name: 'double', data: { n: 21 }, result: 42, attempts: 1 })
    await worker.close()
    const stats = await queue.stats()
    expect(stats).toMatchObject({ completed: 1, active: 0, processed: 1 })
    expect(stats.runTime.count).toBe(1)
  })

  it('under a flood of HIGH jobs, a CRITICAL job added later is claimed before any queued HIGH job', async () => {
    const queue = factory.make()
    await queue.addBulk(
      Array.from({ length: 300 }, (_, i) => ({
        name: 'work',
        data: { i },
        options: { priority: 'HIGH' as const },
      })),
    )
    await queue.addBulk([{ name: 'work', data: { i: -1 }, options: { priority: 'LOW' } }])
    const critical = await queue.add('work', { i: 'critical' }, { priority: 'CRITICAL' })
    const order: unknown[] = []
    const worker = createWorker(
      queue,
      { work: (job) => void order.push((job.data as { i: unknown }).i) },
      { concurrency: 1 },
    )
    await waitUntil(() => order.length === 302, { what: 'all jobs run', timeoutMs: 20_000 })
    await worker.close()
    expect(order[0]).toBe('critical')
    expect(order.slice(1, 301)).toEqual(Array.from({ length: 300 }, (_, i) => i))
    expect(order[301]).toBe(-1)
    expect((await queue.getJob(critical))?.state).toBe('completed')
  })

  it('retries with backoff, keeps the priority, then dead-letters with the last error', async () => {
    const queue = factory.make({ retry: { attempts: 3, minDelayMs: 20, factor: 2, randomize: false } })
    const attempts: number[] = []
    const id = await queue.add('flaky', {}, { priority: 'HIGH' })
    const retrying: number[] = []
    const failed = deferred<{ id: string; attempt: number }>()
    queue.on('retrying', (e) => retrying.push(e.delayMs))
    queue.on('failed', (e) => failed.resolve(e))
    const worker = createWorker(queue, {
      flaky: (job) => {
        attempts.push(job.attempt)
        expect(job.priority).toBe(100)
        throw new Error(`attempt ${job.attempt} failed`)
      },
    })
    expect(await failed.promise).toMatchObject({ id, attempt: 3 })
    await worker.close()
    expect(attempts).toEqual([1, 2, 3])
    expect(retrying).toEqual([20, 40])
    const job = await queue.getJob(id)
    expect(job).toMatchObject({
      state: 'failed',
      attempts: 3,
      priority: 100,
      error: { message: 'attempt 3 failed' },
    })
    expect((await queue.stats()).failed).toBe(1)
  })

  it('UnrecoverableError and unknown handlers go to the dead letter at once', async () => {
    const queue = factory.make({ retry: { attempts: 5 } })
    const a = await queue.add('fatal', {})
    const b = await queue.add('nobody-handles-this', {})
    const worker = createWorker(queue, {
      fatal: () => {
        throw new UnrecoverableError('user is gone')
      },
    })
    await waitUntil(async () => (await queue.stats()).failed === 2, { what: 'two failed' })
    await worker.close()
    expect(await queue.getJob(a)).toMatchObject({ attempts: 1, error: { code: 'E_UNRECOVERABLE' } })
    expect(await queue.getJob(b)).toMatchObject({ attempts: 1, error: { code: 'E_UNKNOWN_HANDLER' } })
  })

  it('aborts the handler signal when the job times out', async () => {
    const queue = factory.make({ retry: { attempts: 1 } })
    const id = await queue.add('slow', {}, { timeout: 50 })
    let aborted: unknown
    const worker = createWorker(queue, {
      slow: (job) =>
        new Promise((resolve) => {
          job.signal.addEventListener('abort', () => {
            aborted = job.signal.reason
            resolve(undefined)
          })
        }),
    })
    await waitUntil(async () => (await queue.getJob(id))?.state === 'failed', { what: 'timed out' })
    await worker.close()
    expect(aborted).toMatchObject({ code: 'E_TIMEOUT' })
    expect((await queue.getJob(id))?.error?.code).toBe('E_TIMEOUT')
  })

  it('runs a delayed job no sooner than its delay', async () => {
    const queue = factory.make()
    const added = Date.now()
    await queue.add('later', {}, { delay: 300 })
    expect((await queue.stats()).delayed).toBe(1)
    const ran = deferred<number>()
    const worker = createWorker(queue, { later: () => ran.resolve(Date.now()) }, { pollIntervalMs: 20 })
    expect((await ran.promise) - added).toBeGreaterThanOrEqual(290)
    await worker.close()
  })

  it('recovers the job of a dead worker after its lease (same priority), and fences the late completion', async () => {
    const queue = factory.make({ leaseMs: 300, heartbeatMs: 100 })
    const id = await queue.add('stuck', { v: 1 }, { priority: 'HIGH' })
    await queue.add('stuck', { v: 2 }, { priority: 'MEDIUM' })
    // A worker that claims and then dies: it never heart-beats nor settles.
    const store = storeOf(queue)
    const dead = await store.claim({ count: 1, leaseMs: 300, maxPriority: undefined })
    expect(dead.jobs.map((j) => j.id)).toEqual([id])
    const stalled: string[] = []
    queue.on('stalled', (e) => stalled.push(e.id))
    const seen: { v: number; attempt: number; priority: number }[] = []
    const worker = createWorker(queue, {
      stuck: (job: Job<{ v: number }>) =>
        void seen.push({ v: job.data.v, attempt: job.attempt, priority: job.priority }),
    })
    await waitUntil(() => seen.length === 2, { what: 'both jobs run', timeoutMs: 10_000 })
    // The dead worker's HIGH job came back on its second attempt with its priority intact.
    expect(seen.find((s) => s.v === 1)).toEqual({ v: 1, attempt: 2, priority: 100 })
    expect(stalled).toEqual([id])
    await waitUntil(async () => (await queue.getJob(id))?.state === 'completed', { what: 'completed' })
    // The dead worker wakes up and tries to complete with its stale token: refused.
    const late = await store.settle([
      { id, token: dead.jobs[0]!.token, outcome: 'completed', result: '"late"' },
    ])
    expect(late).toEqual([false])
    const job = await queue.getJob(id)
    expect(job).toMatchObject({ state: 'completed', stalls: 1 })
    expect(job?.result).toBeUndefined()
    await worker.close()
  })

  it('acknowledges and claims in one call, answering each settlement in order (fencing per job)', async () => {
    const queue = factory.make()
    const store = storeOf(queue)
    const ids = await queue.addBulk(Array.from({ length: 6 }, (_, i) => ({ name: 'x', data: { i } })))
    const first = await store.claim({ count: 3, leaseMs: 5_000, maxPriority: undefined })
    const second = await store.claim({ count: 2, leaseMs: 5_000, maxPriority: undefined })
    expect(first.jobs.map((j) => j.id)).toEqual(ids.slice(0, 3))
    expect(second.jobs.map((j) => j.id)).toEqual(ids.slice(3, 5))
    const [a, b, c] = first.jobs as [ClaimedJob, ClaimedJob, ClaimedJob]
    const [d, e] = second.jobs as [ClaimedJob, ClaimedJob]
    const next = await store.claim({
      count: 5,
      leaseMs: 5_000,
      maxPriority: undefined,
      settle: [
        { id: d.id, token: d.token, outcome: 'completed' },
        { id: a.id, token: a.token, outcome: 'completed', result: '"A"' },
        { id: b.id, token: `${b.token}0`, outcome: 'completed' },
        { id: e.id, token: e.token, outcome: 'retry', error: '{"message":"again"}', delayMs: 0 },
        { id: c.id, token: c.token, outcome: 'completed' },
      ],
    })
    expect(next.settled).toEqual([true, true, false, true, true])
    // Settled first, so the retried job is back in line (ahead of the newer job) for the claim.
    expect(next.jobs.map((j) => [j.id, j.attempt])).toEqual([
      [e.id, 2],
      [ids[5], 1],
    ])
    // b's batch-mates left the lease; b is still held under it.
    expect(await queue.getJob(b.id)).toMatchObject({ state: 'active', attempts: 1 })
    expect(await store.settle([{ id: b.id, token: b.token, outcome: 'completed' }])).toEqual([true])
    expect(await store.settle([{ id: a.id, token: a.token, outcome: 'completed' }])).toEqual([false])
    expect(await queue.getJob(a.id)).toMatchObject({ state: 'completed', attempts: 1, result: 'A' })
    expect(await queue.getJob(e.id)).toMatchObject({ state: 'active', attempts: 2 })
  })

  it('a batch shares one lease: a settled job leaves it, heartbeats renew it, it expires as a whole', async () => {
    const queue = factory.make({ leaseMs: 300, heartbeatMs: 100 })
    const store = storeOf(queue)
    await queue.addBulk(Array.from({ length: 3 }, (_, i) => ({ name: 'x', data: { i } })))
    const { jobs } = await store.claim({ count: 3, leaseMs: 300, maxPriority: undefined })
    const [a, b, c] = jobs as [ClaimedJob, ClaimedJob, ClaimedJob]
    expect(await store.settle([{ id: a.id, token: a.token, outcome: 'completed' }])).toEqual([true])
    const held = jobs.map(({ id, token }) => ({ id, token }))
    expect(await store.extend(held, 300)).toEqual([a.id])
    expect((await queue.getJob(b.id))?.state).toBe('active')
    await new Promise((resolve) => setTimeout(resolve, 400))
    const recovered = await store.claim({ count: 0, leaseMs: 300, maxPriority: undefined })
    expect([...recovered.stalled].sort()).toEqual([b.id, c.id].sort())
    expect(await store.extend([{ id: b.id, token: b.token }], 300)).toEqual([b.id])
    expect(await store.settle([{ id: c.id, token: c.token, outcome: 'completed' }])).toEqual([false])
    expect(await queue.getJob(b.id)).toMatchObject({ state: 'waiting', attempts: 1, stalls: 1 })
    expect((await queue.stats()).active).toBe(0)
  })

  it('retention keeps the newest finished jobs, even when many finish in the same call', async () => {
    const queue = factory.make({ retention: { completed: { count: 3 } } })
    const store = storeOf(queue)
    await queue.addBulk(Array.from({ length: 12 }, (_, i) => ({ name: 'x', data: { i } })))
    const { jobs } = await store.claim({ count: 12, leaseMs: 5_000, maxPriority: undefined })
    // Finished in an order that is neither the ids' numeric nor their lexicographic order.
    const order = [11, 0, 10, 1, 9, 2, 8, 3, 7, 4, 6, 5].map((i) => jobs[i]!)
    const settled = await store.settle(order.map(({ id, token }) => ({ id, token, outcome: 'completed' })))
    expect(settled).toEqual(order.map(() => true))
    expect((await queue.stats()).completed).toBe(3)
    for (const [i, job] of order.entries()) {
      expect((await queue.getJob(job.id))?.state, `job finished #${i}`).toBe(i >= 9 ? 'completed' : undefined)
    }
  })

  it('heartbeats keep a long job leased (no duplicate run)', async () => {
    // The job runs for more than two leases; a heartbeat every 200 ms leaves 1.8 s of slack,
    // so only a lost heartbeat (not a slow machine) could let the lease expire.
    const queue = factory.make({ leaseMs: 2_000, heartbeatMs: 200 })
    await queue.add('long', {})
    let runs = 0
    const worker = createWorker(queue, {
      long: async () => {
        runs++
        await new Promise((resolve) => setTimeout(resolve, 4_500))
      },
    })
    await waitUntil(async () => (await queue.stats()).completed === 1, {
      what: 'completed',
      timeoutMs: 20_000,
    })
    await worker.close()
    expect(runs).toBe(1)
    expect((await queue.stats()).stalled).toBe(0)
  }, 30_000)

  it('a retried job keeps its priority: it runs before lower-priority work', async () => {
    const queue = factory.make({ retry: { attempts: 2, minDelayMs: 0, randomize: false } })
    await queue.add('job', { label: 'high' }, { priority: 'HIGH' })
    await queue.addBulk(
      Array.from({ length: 5 }, (_, i) => ({
        name: 'job',
        data: { label: `low${i}` },
        options: { priority: 'LOW' as const },
      })),
    )
    const order: string[] = []
    const worker = createWorker(queue, {
      job: (job: Job<{ label: string }>) => {
        order.push(`${job.data.label}#${job.attempt}`)
        if (job.data.label === 'high' && job.attempt === 1) throw new Error('first try fails')
      },
    })
    await waitUntil(() => order.length === 7, { what: 'all run' })
    await worker.close()
    expect(order.slice(0, 2)).toEqual(['high#1', 'high#2'])
  })

  it('bounds retention of completed and failed jobs', async () => {
    const queue = factory.make({
      retention: { completed: { count: 5 }, failed: { count: 0 } },
      retry: { attempts: 1 },
    })
    const ids = await queue.addBulk(
      Array.from({ length: 20 }, (_, i) => ({ name: i < 15 ? 'ok' : 'bad', data: { i } })),
    )
    const worker = createWorker(
      queue,
      { ok: () => 1, bad: () => Promise.reject(new Error('x')) },
      { concurrency: 4 },
    )
    await waitUntil(async () => (await queue.stats()).processed + (await queue.stats()).failures === 20, {
      what: 'all settled',
    })
    await worker.close()
    const stats = await queue.stats()
    expect(stats.completed).toBe(5)
    expect(stats.failed).toBe(0)
    expect(await queue.getJob(ids[0]!)).toBeUndefined()
    expect(await queue.getJob(ids[19]!)).toBeUndefined()
    expect((await queue.getJob(ids[14]!))?.state).toBe('completed')
  })

  it('refuses bad input with a clear error and writes nothing', async () => {
    const queue = factory.make({ names: ['report', 'notify'] })
    await expect(queue.add('report', { f: () => 1 })).rejects.toThrow(/data\.f is a function/)
    await expect(queue.add('report', { n: 10n })).rejects.toMatchObject({ code: 'E_SERIALIZATION' })
    await expect(queue.add('report', { m: new Map() })).rejects.toThrow(/Map/)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    await expect(queue.add('report', cyclic)).rejects.toThrow(/circular/)
    await expect(queue.add('reprot', {})).rejects.toMatchObject({ code: 'E_UNKNOWN_HANDLER' })
    await expect(queue.add('report', {}, { delay: -5 })).rejects.toThrow(/"delay".*-5/)
    await expect(queue.add('report', {}, { priority: 'URGENT' as never })).rejects.toThrow(/URGENT/)
    await expect(queue.add('report', {}, { attempts: 0 })).rejects.toThrow(/"attempts"/)
    // One bad job in a bulk: none of the batch is written.
    await expect(
      queue.addBulk([
        { name: 'report', data: { ok: true } },
        { name: 'notify', data: { bad: Number.NaN } },
      ]),
    ).rejects.toThrow(/NaN/)
    const stats = await queue.stats()
    expect(stats.waiting).toEqual({ critical: 0, high: 0, medium: 0, low: 0 })
    expect(stats.delayed + stats.active + stats.completed + stats.failed).toBe(0)
    const client = redis()
    // Not even the id sequence moved: no script ran.
    if (client) expect(await client.exists(`{${last.last}:jobs}:seq`)).toBe(0)
  })

  it('custom jobId makes add idempotent', async () => {
    const queue = factory.make()
    const a = await queue.add('x', { v: 1 }, { jobId: 'invoice-7' })
    const b = await queue.add('x', { v: 2 }, { jobId: 'invoice-7' })
    expect(a).toBe('invoice-7')
    expect(b).toBe('invoice-7')
    expect((await queue.getJob('invoice-7'))?.data).toEqual({ v: 1 })
    expect((await queue.stats()).waiting.medium).toBe(1)
  })

  it('close({ timeout }) hands unfinished jobs back without counting the attempt', async () => {
    const queue = factory.make()
    const id = await queue.add('hang', {})
    let signal: AbortSignal | undefined
    const started = deferred()
    const worker = createWorker(queue, {
      hang: (job) => {
        signal = job.signal
        started.resolve()
        return new Promise(() => {})
      },
    })
    await started.promise
    await worker.close({ timeout: 50 })
    expect(signal?.aborted).toBe(true)
    expect(await queue.getJob(id)).toMatchObject({ state: 'waiting', attempts: 0 })
    const again = deferred<number>()
    const next = createWorker(queue, { hang: (job) => again.resolve(job.attempt) })
    expect(await again.promise).toBe(1)
    await next.close()
  })

  it('load shedding: under critical, MEDIUM/LOW jobs wait (wait mode) and resume when healthy', async () => {
    let status: 'healthy' | 'critical' = 'critical'
    const queue = factory.make({ shedding: { status: () => status } })
    await queue.add('job', { p: 'low' }, { priority: 'LOW' })
    await queue.add('job', { p: 'high' }, { priority: 'HIGH' })
    const seen: string[] = []
    const worker = createWorker(
      queue,
      { job: (job: Job<{ p: string }>) => void seen.push(job.data.p) },
      { pollIntervalMs: 20 },
    )
    await waitUntil(() => seen.length === 1, { what: 'high ran' })
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(seen).toEqual(['high'])
    let stats = await queue.stats()
    expect(stats.waiting.low).toBe(1)
    expect(stats.shedding.critical).toBe(true)
    expect(stats.shedding.deferredClaims).toBeGreaterThan(0)
    status = 'healthy'
    await waitUntil(() => seen.length === 2, { what: 'low ran' })
    await worker.close()
    stats = await queue.stats()
    expect(stats.shedding.critical).toBe(false)
  })

  it('load shedding: refuse mode rejects MEDIUM/LOW adds with E_OVERLOADED and counts them', async () => {
    const queue = factory.make({ shedding: { status: () => 'critical', mode: 'refuse' } })
    await expect(queue.add('job', {}, { priority: 'LOW' })).rejects.toMatchObject({ code: 'E_OVERLOADED' })
    await expect(queue.add('job', {})).rejects.toMatchObject({ code: 'E_OVERLOADED' })
    await expect(queue.add('job', {}, { priority: 'CRITICAL' })).resolves.toBeTypeOf('string')
    const stats = await queue.stats()
    expect(stats.shedding.refused).toBe(2)
    expect(stats.waiting.critical).toBe(1)
  })

  it('aging: a LOW job that waited past agingMs is claimed before newer CRITICAL work', async () => {
    const queue = factory.make({ agingMs: 200 })
    await queue.add('job', { p: 'old-low' }, { priority: 'LOW' })
    // Past agingMs by the store's own clock (Redis TIME on Redis), however slow this machine is.
    await waitUntil(async () => (await queue.stats()).oldestWaitMs > 200, { what: 'the LOW job to age' })
    await queue.addBulk(
      Array.from({ length: 3 }, () => ({
        name: 'job',
        data: { p: 'crit' },
        options: { priority: 'CRITICAL' as const },
      })),
    )
    const seen: string[] = []
    const worker = createWorker(queue, { job: (job: Job<{ p: string }>) => void seen.push(job.data.p) })
    await waitUntil(() => seen.length === 4, { what: 'all ran' })
    await worker.close()
    expect(seen[0]).toBe('old-low')
  })

  it('stats() reports depth per priority and the oldest waiting job age', async () => {
    const queue = factory.make()
    await queue.add('a', {}, { priority: 'CRITICAL' })
    await queue.add('a', {}, { priority: 150 })
    await queue.add('a', {}, { priority: 'MEDIUM' })
    await queue.add('a', {}, { priority: 'LOW' })
    await queue.add('a', {}, { priority: 1000 })
    // The age grows while the job waits (the exact value is checked on a manual clock).
    await waitUntil(async () => (await queue.stats()).oldestWaitMs > 0, { what: 'the oldest job to age' })
    const stats = await queue.stats()
    expect(stats.waiting).toEqual({ critical: 1, high: 1, medium: 1, low: 2 })
    expect(stats.added).toBe(5)
  })
}
