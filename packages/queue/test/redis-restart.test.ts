import { requestPathRedisOptions } from '@headroom/core'
import { type RedisServer, redisAvailable, startRedisServer, waitUntil } from '@headroom/testing'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createQueue, createWorker } from '../src/index.js'

describe.runIf(redisAvailable())('Redis restarted (AOF) mid-run', () => {
  let server: RedisServer | undefined
  const clients: Redis[] = []
  afterAll(async () => {
    for (const client of clients) client.disconnect()
    await server?.close()
  })

  it('loses no acknowledged job, and workers reconnect by themselves', async () => {
    server = await startRedisServer({ appendOnly: true })
    const redis = new Redis(server.url, requestPathRedisOptions)
    redis.on('error', () => {})
    clients.push(redis)
    const queue = createQueue({
      name: 'aof',
      redis,
      leaseMs: 1000,
      commandTimeoutMs: 1000,
      retention: { completed: { count: 100_000 } },
    })
    const acked = new Set<string>()
    const runs = new Map<string, number>()
    const confirmed = new Set<string>()
    let refused = 0
    queue.on('completed', ({ id }) => confirmed.add(id))
    const worker = createWorker(
      queue,
      {
        job: async (job) => {
          runs.set(job.id, (runs.get(job.id) ?? 0) + 1)
          await new Promise((resolve) => setTimeout(resolve, 2))
        },
      },
      { concurrency: 20, pollIntervalMs: 20 },
    )

    let producing = true
    const producer = (async () => {
      let i = 0
      while (producing) {
        try {
          acked.add(await queue.add('job', { i: i++ }, { priority: i % 2 ? 'HIGH' : 'LOW' }))
        } catch {
          refused++
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
        if (i % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 1))
      }
    })()

    await waitUntil(() => confirmed.size >= 200, {
      what: '200 jobs done before the restart',
      timeoutMs: 30_000,
    })
    const doneBefore = [...confirmed]
    await server.kill()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    await server.start()
    await waitUntil(() => confirmed.size >= doneBefore.length + 200, {
      what: 'workers to go on after the restart',
      timeoutMs: 30_000,
    })
    producing = false
    await producer

    await waitUntil(
      async () => {
        const stats = await queue.stats()
        return stats.active + stats.delayed + Object.values(stats.waiting).reduce((a, b) => a + b, 0) === 0
      },
      { what: 'queue drained', timeoutMs: 30_000, intervalMs: 100 },
    )
    await worker.close()
    for (const id of acked) expect(runs.has(id), `acknowledged job ${id} never ran`).toBe(true)
    for (const id of doneBefore) expect((await queue.getJob(id))?.state).toBe('completed')
    const lost = [...acked].filter((id) => !runs.has(id))
    console.log(
      `[aof restart] ${acked.size} jobs acknowledged, ${refused} adds refused while Redis was down, ${lost.length} lost, ${[...runs.values()].filter((n) => n > 1).length} run twice`,
    )
    expect(lost).toEqual([])
    expect(refused).toBeGreaterThan(0)
    await queue.close()
  }, 120_000)

  it('a refused add stays refused: it does not land once Redis is back', async () => {
    const own = await startRedisServer({ appendOnly: true })
    const redis = new Redis(own.url, requestPathRedisOptions)
    redis.on('error', () => {})
    const queue = createQueue({ name: 'refused', redis, addTimeoutMs: 500 })
    try {
      await queue.add('job', { before: true })
      await own.stop()
      // Long enough for ioredis' reconnect backoff to grow past the add timeout: an add left
      // in the offline queue would then outlive its refusal and run after the restart.
      await waitUntil(() => redis.status === 'reconnecting', { what: 'the client to notice' })
      await new Promise((resolve) => setTimeout(resolve, 2_500))
      await expect(queue.add('job', { refused: true })).rejects.toMatchObject({ code: 'E_STORE_UNAVAILABLE' })
      await own.start()
      await waitUntil(() => redis.status === 'ready', { what: 'the client to reconnect', timeoutMs: 15_000 })
      // Whatever was queued offline has been sent by now: a ping is answered after it.
      await redis.ping()
      const waiting = (await queue.stats()).waiting
      expect(Object.values(waiting).reduce((a, b) => a + b, 0)).toBe(1)
    } finally {
      await queue.close()
      redis.disconnect()
      await own.close()
    }
  }, 60_000)
})
