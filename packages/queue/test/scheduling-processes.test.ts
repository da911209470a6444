import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { clusterNodes, describeRedis, redisUrl, waitUntil } from '@headroom/testing'
import { afterEach, expect, it } from 'vitest'
import { createQueue } from '../src/index.js'

const here = dirname(fileURLToPath(import.meta.url))
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
// Booting tsx and ioredis in a child takes seconds on a loaded machine; the behaviour under test takes a few.

/** Job schedulers, pause and the rate limit hold across worker processes. */
describeRedis('scheduling across processes', (target) => {
  const children = new Set<ChildProcess>()
  afterEach(async () => {
    await Promise.all(
      [...children].map(
        (child) =>
          new Promise<void>((resolve) => {
            child.once('exit', () => resolve())
            child.kill('SIGTERM')
            setTimeout(() => child.kill('SIGKILL'), 5_000).unref()
          }),
      ),
    )
    children.clear()
  }, 30_000)

  const setup = () => {
    const redis = target.client()
    const prefix = target.prefix('sched-proc')
    const queue = createQueue({ name: 'sched', prefix, redis, addTimeoutMs: 5_000 })
    const starts = async () =>
      (await redis.lrange(`{${prefix}:log}:starts`, 0, -1)).map((line) => {
        const [id, pid, at] = line.split('|')
        return { id: id!, pid: Number(pid), at: Number(at) }
      })
    /** Starts a worker process; resolves once it runs. */
    const spawnWorker = (mode: string, extra: Record<string, string> = {}) =>
      new Promise<ChildProcess>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', join(here, 'fixtures', 'schedule-worker.ts')],
          {
            cwd: join(here, '..'),
            stdio: ['ignore', 'pipe', 'inherit'],
            env: {
              ...process.env,
              TARGET: target.kind,
              REDIS_URL: redisUrl(),
              CLUSTER_NODES: clusterNodes()
                .map((n) => `${n.host}:${n.port}`)
                .join(','),
              PREFIX: prefix,
              MODE: mode,
              ...extra,
            },
          },
        )
        children.add(child)
        child.once('error', reject)
        child.once('exit', (code) => reject(new Error(`worker process exited with ${code}`)))
        child.stdout!.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('ready')) resolve(child)
        })
      })
    return { queue, starts, spawnWorker }
  }

  it('three processes schedule the same every-second cron: each slot runs once', async () => {
    const { queue, starts, spawnWorker } = setup()
    await Promise.all([spawnWorker('repeat'), spawnWorker('repeat'), spawnWorker('repeat')])
    await waitUntil(async () => (await starts()).length >= 4, { what: '4 slots', timeoutMs: 20_000 })
    const runs = await starts()
    const slots = runs.map((run) => Number(run.id.split(':').pop()))
    // Each slot once, on a whole second, each job's id naming its slot.
    expect(new Set(slots).size).toBe(slots.length)
    for (const slot of slots) expect(slot % 1000).toBe(0)
    for (const run of runs) expect(run.id).toMatch(/^repeat:each-second:\d+$/)
    expect(await queue.getJobSchedulers()).toMatchObject([{ id: 'each-second', pattern: '* * * * * *' }])
    await queue.close()
  }, 120_000)

  it('pause() in this process stops the workers of another; the running job finishes; resume() restarts them', async () => {
    const { queue, starts, spawnWorker } = setup()
    await spawnWorker('work')
    const slow = await queue.add('slow', {})
    await waitUntil(async () => (await starts()).length === 1, { what: 'slow job started' })
    await queue.pause()
    const ids = await queue.addBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'job', data: { i } })))
    await waitUntil(async () => (await queue.getJob(slow))?.state === 'completed', { what: 'slow job done' })
    await sleep(1_000)
    expect((await starts()).map((s) => s.id)).toEqual([slow])
    await queue.resume()
    await waitUntil(async () => (await starts()).length === 6, {
      what: 'jobs after resume',
      timeoutMs: 10_000,
    })
    expect(
      (await starts())
        .slice(1)
        .map((s) => s.id)
        .sort(),
    ).toEqual([...ids].sort())
    await queue.close()
  }, 120_000)

  it('the rate limit holds across 4 worker processes', async () => {
    const max = 5
    const durationMs = 1_000
    const { queue, starts, spawnWorker } = setup()
    const limit = { LIMIT_MAX: String(max), LIMIT_MS: String(durationMs) }
    const workers = await Promise.all(Array.from({ length: 4 }, () => spawnWorker('limit', limit)))
    // One add at a time: each wakes an idle worker, so every process is claiming (and meets
    // the limit) rather than one process that a single bulk add woke taking every window.
    for (let i = 0; i < 25; i++) await queue.add('job', { i })
    await waitUntil(async () => (await starts()).length === 25, { what: 'all jobs', timeoutMs: 20_000 })
    const runs = await starts()
    const at = runs.map((run) => run.at).sort((a, b) => a - b)
    // Any `max + 1` starts span at least one window, less a margin for the jitter between
    // a claim (the window is on Redis' clock) and its handler starting in a busy process.
    for (let i = 0; i + max < at.length; i++) expect(at[i + max]! - at[i]!).toBeGreaterThan(durationMs - 250)
    // The work really was spread over the processes.
    expect(new Set(runs.map((run) => run.pid)).size).toBeGreaterThan(1)
    expect(workers).toHaveLength(4)
    await queue.close()
  }, 120_000)
})
