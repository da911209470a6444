/**
 * What an idle durable-queue worker costs: CPU of its process and Redis commands a second,
 * over 10 s with an empty queue, on a Redis server of its own (so no other client's
 * commands are counted; `INFO commandstats` delta less this script's own INFO).
 *
 *   cd benchmarks && npx tsx queue-idle/idle-worker.ts [queue module] [pollIntervalMs]
 *
 * The queue module defaults to `@headroom/queue` (the built package); pass a path to a
 * source tree (e.g. an older version's `src/index.ts`) to compare.
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { startRedisServer } from '@headroom/testing'
import { Redis } from 'ioredis'

const WARMUP_MS = 2_000
const MEASURE_MS = 10_000

const modulePath = process.argv[2] ?? '@headroom/queue'
const specifier = modulePath.startsWith('.') ? pathToFileURL(resolve(modulePath)).href : modulePath
const pollIntervalMs = process.argv[3] === undefined ? undefined : Number(process.argv[3])
const { createQueue, createWorker } = (await import(specifier)) as typeof import('@headroom/queue')
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const server = await startRedisServer()
const redis = new Redis(server.url)
const admin = new Redis(server.url)

async function commandCount(): Promise<number> {
  const info = await admin.info('commandstats')
  let calls = 0
  const by: string[] = []
  for (const line of info.split('\n')) {
    const match = /^cmdstat_([a-z|]+):calls=(\d+)/.exec(line)
    if (match && match[1] !== 'info' && match[1] !== 'config|resetstat') {
      calls += Number(match[2])
      by.push(`${match[1]} ${match[2]}`)
    }
  }
  if (by.length > 0) console.log(`  commands: ${by.join(', ')}`)
  return calls
}

async function measure(label: string, start: () => Promise<() => Promise<void>>) {
  const stop = await start()
  await sleep(WARMUP_MS)
  await admin.config('RESETSTAT')
  const cpu = process.cpuUsage()
  const t0 = performance.now()
  await sleep(MEASURE_MS)
  const used = process.cpuUsage(cpu)
  const seconds = (performance.now() - t0) / 1000
  const commands = await commandCount()
  await stop()
  const cpuPct = ((used.user + used.system) / 1000 / (seconds * 1000)) * 100
  console.log(
    `${label}: CPU ${cpuPct.toFixed(2)} % of a core, Redis ${(commands / seconds).toFixed(1)} commands/s (${commands} in ${seconds.toFixed(1)} s)`,
  )
}

try {
  await measure('no worker (the process alone, for reference)', async () => async () => {})
  await measure(`idle worker (${modulePath}, pollIntervalMs ${pollIntervalMs ?? 'default'})`, async () => {
    const queue = createQueue({ name: 'idle', redis, evictionPolicy: 'ignore' })
    const worker = createWorker(
      queue,
      { job: () => {} },
      pollIntervalMs === undefined ? {} : { pollIntervalMs },
    )
    return async () => {
      await worker.close()
      await queue.obliterate()
      await queue.close()
    }
  })
} finally {
  redis.disconnect()
  admin.disconnect()
  await server.stop()
}
