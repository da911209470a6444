import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { clusterNodes, describeRedis, redisUrl } from '@headroom/testing'
import { afterAll, beforeAll, expect, it } from 'vitest'

const here = dirname(fileURLToPath(import.meta.url))
const fixture = join(here, 'fixtures', 'hammer.ts')
const PROCESSES = 4

interface ChildLog {
  admitted: [number, number][]
  refused: number
  errors: number
}

/** A child process fed jobs on stdin, answering one JSON line per job. */
interface Hammer {
  child: ChildProcess
  next(): Promise<ChildLog>
}

function startHammer(): Promise<Hammer> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    cwd: join(here, '..'),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let buffer = ''
  let err = ''
  const waiting: ((line: string) => void)[] = []
  const lines: string[] = []
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString()
    let at = buffer.indexOf('\n')
    while (at !== -1) {
      const line = buffer.slice(0, at)
      buffer = buffer.slice(at + 1)
      const taker = waiting.shift()
      if (taker) taker(line)
      else lines.push(line)
      at = buffer.indexOf('\n')
    }
  })
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString()
  })
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      const line = lines.shift()
      if (line !== undefined) return resolve(line)
      waiting.push(resolve)
      child.once('exit', (code) => reject(new Error(`hammer exited ${code}: ${err.slice(-2000)}`)))
    })
  return nextLine().then(() => ({ child, next: async () => JSON.parse(await nextLine()) as ChildLog }))
}

let hammers: Hammer[] = []
beforeAll(async () => {
  hammers = await Promise.all(Array.from({ length: PROCESSES }, startHammer))
}, 60_000)
afterAll(() => {
  for (const { child } of hammers) if (child.exitCode === null) child.kill('SIGKILL')
})

describeRedis('4 processes hammering one key', (target) => {
  const algorithm = target.kind === 'standalone' ? 'gcra' : 'fixed-window'
  it(`${algorithm}: admits no more than the algorithm allows, by an independent log`, {
    timeout: 60_000,
  }, async () => {
    const limit = 40
    const window = 1000
    // Start once every child is connected, so slow connections on a busy machine do not shorten the run.
    const startAt = Date.now() + 1_500
    const job = {
      prefix: target.prefix('rlmp'),
      algorithm,
      limit,
      window,
      startAt,
      endAt: startAt + 3 * window + 300,
      ...(target.kind === 'cluster' ? { clusterNodes: clusterNodes() } : { redisUrl: redisUrl() }),
    }
    for (const { child } of hammers) child.stdin!.write(`${JSON.stringify(job)}\n`)
    const logs = await Promise.all(hammers.map((h) => h.next()))
    expect(logs.every((l) => l.errors === 0)).toBe(true)
    expect(logs.reduce((sum, l) => sum + l.refused, 0)).toBeGreaterThan(0)
    const entries = logs.flatMap((l) => l.admitted).sort((a, b) => a[0] - b[0])
    const firstSent = entries[0]![0]
    const lastReceived = Math.max(...entries.map((e) => e[1]))
    const span = lastReceived - firstSent
    // Every decision happened within [firstSent, lastReceived]: GCRA admits at most the
    // burst plus the refill over that span; a fixed window at most the limit per window touched.
    const bound =
      algorithm === 'gcra' ? limit + (limit * span) / window + 1 : limit * (Math.floor(span / window) + 2)
    expect(entries.length).toBeLessThanOrEqual(bound)
    // The run did real work: the processes together got most of what was allowed.
    expect(entries.length).toBeGreaterThan((limit * span) / window / 2)
    // Windowed check on the requests surely decided inside [a, a + W): GCRA admits the
    // burst (= limit) plus one window's refill; a fixed window at most the limit per aligned window.
    for (const [a] of entries) {
      const start = algorithm === 'gcra' ? a : a - (a % window)
      const inside = entries.filter(([sent, received]) => sent >= start && received < start + window).length
      expect(inside).toBeLessThanOrEqual(algorithm === 'gcra' ? 2 * limit : limit)
    }
  })
})
