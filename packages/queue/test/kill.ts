import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { clusterNodes, type RedisTarget, redisUrl, waitUntil } from '@headroom/testing'
import { afterAll, expect, it } from 'vitest'
import { createQueue } from '../src/index.js'

const here = dirname(fileURLToPath(import.meta.url))
const LEASE_MS = 1500
const HEARTBEAT_MS = 500
const JOBS = 10_000
const WORKERS = 4

interface Kill {
  pid: number
  at: number
}

/** 4 worker processes, 10,000 jobs, one worker SIGKILLed every ~2 s and restarted. */
export function killTest(target: RedisTarget): void {
  const children = new Set<ChildProcess>()
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL')
  })

  it('every job completes, duplicates are counted, recovery is within leaseMs + one heartbeat', async () => {
    const redis = target.client({ enableAutoPipelining: true })
    const prefix = target.prefix('kill')
    const queue = createQueue({ name: 'kill', prefix, redis, retention: { completed: { count: 20_000 } } })
    const log = `{${prefix}:log}:events`

    /** Boots a worker process that waits for "go"; resolves once it has booted. */
    const bootWorker = () =>
      new Promise<ChildProcess>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'kill-worker.ts')], {
          cwd: join(here, '..'),
          stdio: ['pipe', 'pipe', 'inherit'],
          env: {
            ...process.env,
            TARGET: target.kind,
            REDIS_URL: redisUrl(),
            CLUSTER_NODES: clusterNodes()
              .map((n) => `${n.host}:${n.port}`)
              .join(','),
            PREFIX: prefix,
            LEASE_MS: String(LEASE_MS),
            HEARTBEAT_MS: String(HEARTBEAT_MS),
          },
        })
        children.add(child)
        child.once('exit', () => children.delete(child))
        child.once('error', reject)
        child.stdout!.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('booted')) resolve(child)
        })
      })
    const go = (child: ChildProcess) =>
      new Promise<ChildProcess>((resolve) => {
        child.stdout!.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('ready')) resolve(child)
        })
        child.stdin!.write('go\n')
      })

    const ids = await queue.addBulk(
      Array.from({ length: JOBS }, (_, i) => ({
        name: 'work',
        data: { i },
        options: { priority: (['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'] as const)[i % 4] },
      })),
    )
    expect(new Set(ids).size).toBe(JOBS)

    // Boot the workers and three spares before any job runs: a killed worker is replaced at once,
    // so kills land every ~2 s even when booting tsx takes many seconds on a loaded machine.
    const booted = await Promise.all(Array.from({ length: WORKERS + 3 }, bootWorker))
    const workers = await Promise.all(booted.slice(0, WORKERS).map(go))
    const kills: Kill[] = []
    let stop = false
    const killer = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 1500))
      // Spares boot ahead of time, so a killed worker is replaced at once and kills land every ~2 s.
      const spares = booted.slice(WORKERS).map((child) => Promise.resolve(child))
      while (!stop) {
        const spare = await spares.shift()!
        if (stop) {
          spare.kill('SIGKILL')
          break
        }
        const victim = workers.shift()!
        kills.push({ pid: victim.pid!, at: Date.now() })
        victim.kill('SIGKILL')
        workers.push(await go(spare))
        spares.push(bootWorker())
        await new Promise((resolve) => setTimeout(resolve, 2000))
      }
      for (const spare of spares) void spare.then((child) => child.kill('SIGKILL'))
    })()

    await waitUntil(async () => (await queue.stats()).completed === JOBS, {
      what: 'all jobs completed',
      timeoutMs: 200_000,
      intervalMs: 200,
    })
    stop = true
    await killer
    for (const child of workers) child.kill('SIGKILL')

    const stats = await queue.stats()
    expect(stats.waiting).toEqual({ critical: 0, high: 0, medium: 0, low: 0 })
    expect(stats.active + stats.delayed + stats.failed).toBe(0)

    const entries = (await redis.lrange(log, 0, -1)).map((line) => {
      const [kind, id, pid, at] = line.split('|')
      return { kind: kind!, id: id!, pid: Number(pid), at: Number(at) }
    })
    const starts = entries.filter((e) => e.kind === 's')
    const started = new Set(starts.map((e) => e.id))
    for (const id of ids) expect(started.has(id)).toBe(true)
    const duplicates = starts.length - started.size

    // Recovery: each job a killed worker had in flight starts again elsewhere within lease + heartbeat.
    let worst = 0
    for (const kill of kills) {
      const done = new Set(entries.filter((e) => e.kind === 'd' && e.pid === kill.pid).map((e) => e.id))
      const inFlight = new Set(starts.filter((e) => e.pid === kill.pid && !done.has(e.id)).map((e) => e.id))
      for (const id of inFlight) {
        const again = starts.find((e) => e.id === id && e.pid !== kill.pid && e.at >= kill.at)
        expect(again, `job ${id} lost by pid ${kill.pid} never ran again`).toBeDefined()
        worst = Math.max(worst, again!.at - kill.at)
      }
    }
    console.log(
      `[kill test ${target.kind}] ${JOBS} jobs, ${kills.length} SIGKILLs, ${duplicates} duplicate runs (${((duplicates / JOBS) * 100).toFixed(2)} %), worst recovery ${worst} ms (lease ${LEASE_MS} ms + heartbeat ${HEARTBEAT_MS} ms)`,
    )
    expect(kills.length).toBeGreaterThanOrEqual(3)
    expect(worst, 'no killed worker had a job in flight').toBeGreaterThan(0)
    // The bound the issue asks for, plus margin for a shared 2-core machine (claim poll, scheduling).
    expect(worst).toBeLessThanOrEqual(LEASE_MS + HEARTBEAT_MS + 1000)
    await queue.close()
    await queue.obliterate()
    await redis.del(log)
  }, 240_000)
}
