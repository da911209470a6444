import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { clusterNodes, describeRedis, redisUrl } from '@headroom/testing'
import { afterAll, beforeAll, expect, it } from 'vitest'

const worker = fileURLToPath(new URL('./fixtures/stampede-worker.ts', import.meta.url))
const root = fileURLToPath(new URL('../../..', import.meta.url))
const PROCESSES = 4
const COUNT = 1_000

interface Report {
  mode: string
  calls: number
  pids: number[]
  results: number
}

describeRedis('stampede across 4 processes', (target) => {
  const workers: { child: ChildProcess; lines: string[]; waiters: ((line: string) => void)[] }[] = []

  beforeAll(async () => {
    const env = {
      ...process.env,
      PREFIX: target.prefix('stampede'),
      COUNT: String(COUNT),
      TSX_TSCONFIG_PATH: `${root}/tsconfig.json`,
      ...(target.kind === 'cluster'
        ? {
            CLUSTER_NODES: clusterNodes()
              .map((n) => `${n.host}:${n.port}`)
              .join(','),
          }
        : { REDIS_URL: redisUrl() }),
    }
    const ready: Promise<void>[] = []
    for (let i = 0; i < PROCESSES; i++) {
      const child = spawn(process.execPath, ['--import', 'tsx', worker], { cwd: root, env })
      const entry = { child, lines: [] as string[], waiters: [] as ((line: string) => void)[] }
      workers.push(entry)
      let buffer = ''
      let stderr = ''
      child.stderr!.on('data', (chunk) => {
        stderr += chunk
      })
      child.stdout!.on('data', (chunk) => {
        buffer += chunk
        for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
          const line = buffer.slice(0, nl)
          buffer = buffer.slice(nl + 1)
          const waiter = entry.waiters.shift()
          if (waiter) waiter(line)
          else entry.lines.push(line)
        }
      })
      ready.push(
        new Promise((resolve, reject) => {
          entry.waiters.push(() => resolve())
          child.once('exit', (code) => reject(new Error(`worker ${i} exited (${code}): ${stderr}`)))
        }),
      )
    }
    await Promise.all(ready)
  }, 60_000)

  afterAll(async () => {
    await Promise.all(
      workers.splice(0).map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve()
            const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
            child.once('exit', () => {
              clearTimeout(timer)
              resolve()
            })
            child.stdin!.write('exit\n')
          }),
      ),
    )
  })

  async function round(mode: 'lock' | 'nolock'): Promise<Report[]> {
    const reports = workers.map((entry) => new Promise<string>((resolve) => entry.waiters.push(resolve)))
    // All four start their 1,000 misses at (nearly) the same moment.
    for (const { child } of workers) child.stdin!.write(`go ${mode}\n`)
    return (await Promise.all(reports)).map((line) => JSON.parse(line) as Report)
  }

  it('with lock: 4 x 1,000 concurrent misses run the factory exactly once in total', async () => {
    const reports = await round('lock')
    expect(reports.reduce((sum, r) => sum + r.calls, 0)).toBe(1)
    for (const report of reports) expect(report.results).toBe(COUNT)
    // Every process got the one computed value.
    expect(new Set(reports.flatMap((r) => r.pids)).size).toBe(1)
  })

  it('without lock: the factory runs once per process', async () => {
    const reports = await round('nolock')
    for (const report of reports) {
      expect(report.calls).toBe(1)
      expect(report.pids).toHaveLength(1)
      expect(report.results).toBe(COUNT)
    }
  })
})
