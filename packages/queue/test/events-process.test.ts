import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  clusterNodes,
  describeRedis,
  redisUrl,
  startTcpProxy,
  type TcpProxy,
  waitUntil,
} from '@headroom/testing'
import { afterEach, expect, it } from 'vitest'
import { createQueue, createWorker } from '../src/index.js'

const here = dirname(fileURLToPath(import.meta.url))
const JOBS = 1000

describeRedis('queue events in another process', (target) => {
  const children = new Set<ChildProcess>()
  const proxies: TcpProxy[] = []
  afterEach(async () => {
    for (const child of children) child.kill('SIGKILL')
    for (const proxy of proxies.splice(0)) await proxy.close()
  })

  it('a subscriber process sees every completion of 1,000 jobs in order, and catches up after its connection is cut and restored', async () => {
    const redis = target.client({ enableAutoPipelining: true })
    const prefix = target.prefix('qevents-proc')
    const queue = createQueue({ name: 'events', prefix, redis, events: true, addTimeoutMs: 5000 })

    // The subscriber reaches Redis only through proxies the test can cut (one per Cluster node).
    const nodes =
      target.kind === 'cluster'
        ? clusterNodes()
        : [(({ hostname, port }) => ({ host: hostname, port: Number(port || 6379) }))(new URL(redisUrl()))]
    const mapping: string[] = []
    for (const node of nodes) {
      const proxy = await startTcpProxy(node)
      proxies.push(proxy)
      mapping.push(`${node.host}:${node.port}=${proxy.port}`)
    }

    const seen: string[] = []
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(here, 'fixtures', 'events-subscriber.ts')],
      {
        cwd: join(here, '..'),
        stdio: ['pipe', 'pipe', 'inherit'],
        env: { ...process.env, TARGET: target.kind, PROXIES: mapping.join(','), PREFIX: prefix },
      },
    )
    children.add(child)
    child.once('exit', () => children.delete(child))
    let ready = false
    let buffer = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      const lines = buffer.split('\n')
      buffer = lines.pop()!
      for (const line of lines) {
        if (line === 'ready') ready = true
        else if (line.startsWith('c ')) seen.push(line.slice(2))
      }
    })
    await waitUntil(() => ready, { what: 'the subscriber process to be ready', timeoutMs: 60_000 })

    const ids = await queue.addBulk(Array.from({ length: JOBS }, (_, i) => ({ name: 'work', data: { i } })))
    let completed = 0
    // One at a time, so completions happen in job order and keep happening while the subscriber is cut off.
    const worker = createWorker(
      queue,
      {
        work: async () => {
          completed++
          await new Promise((resolve) => setTimeout(resolve, 2))
        },
      },
      { concurrency: 1 },
    )
    await waitUntil(() => seen.length >= 200, {
      what: 'the first 200 completions in the subscriber',
      timeoutMs: 30_000,
    })
    for (const proxy of proxies) await proxy.close()
    const completedAtCut = completed
    await waitUntil(() => completed >= completedAtCut + 300, {
      what: '300 completions while cut off',
      timeoutMs: 30_000,
    })
    // Cut off, the subscriber saw none of the completions since.
    expect(seen.length).toBeLessThanOrEqual(completedAtCut)
    for (const proxy of proxies) await proxy.open()

    await waitUntil(() => seen.length >= JOBS, {
      what: 'every completion in the subscriber',
      timeoutMs: 60_000,
    })
    await worker.close()
    expect(seen).toEqual(ids)
    child.stdin!.write('stop\n')
    await queue.obliterate()
    await queue.close()
    // Booting a tsx child process takes many seconds on a loaded machine.
  }, 180_000)
})
