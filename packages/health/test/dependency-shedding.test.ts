// Shed on overload, not on a dependency's failure: an Express app behind shedLoad
// whose users live on four "shards", one of which is down (the app answers its users
// 503). Under steady load the users of the other shards must keep being served.
// Real Express over real HTTP; samples are taken on a manual clock, one per round of
// requests, with calm process readings, so only the request outcomes decide.
import type { AddressInfo } from 'node:net'
import { createManualClock, type ManualClock } from '@headroom/core'
import { waitUntil } from '@headroom/testing'
import express from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { shedLoad } from '../src/http/shed-load.js'
import { markDependencyFailure, trackRequests } from '../src/http/track-requests.js'
import { createHealthMonitor } from '../src/monitor/monitor.js'
import type { HealthMonitorOptions } from '../src/monitor/options.js'
import type { HealthMonitor } from '../src/monitor/types.js'
import type { StatusChange } from '../src/status/change.js'
import { scriptedSampler } from './helpers.js'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const SHARDS = 4
const DOWN = 3

/** The app: a user's shard is `id % 4`; shard 3 is down, its users get a 503. */
async function shardedApp(monitor: HealthMonitor, onShardDown: (res: express.Response) => void) {
  const app = express()
  app.use(trackRequests({ monitor }))
  // Every request here is free tier: the priority shedLoad refuses first.
  app.use(shedLoad({ monitor }))
  app.get('/users/:id', (req, res) => {
    const id = Number(req.params.id)
    if (id % SHARDS === DOWN) {
      onShardDown(res)
      res
        .status(503)
        .set('retry-after', '5')
        .json({ title: 'Service Unavailable', detail: 'shard 3 is down' })
      return
    }
    res.json({ id, shard: id % SHARDS })
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', resolve))
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/**
 * Steady load: `rounds` rounds of 10 requests per shard at once, one monitor sample
 * after each round (a second on the manual clock). Returns the success share of the
 * users of each shard.
 */
async function steadyLoad(url: string, clock: ManualClock, monitor: HealthMonitor, rounds = 30) {
  const ok = new Array<number>(SHARDS).fill(0)
  const sent = new Array<number>(SHARDS).fill(0)
  let recorded = 0
  for (let round = 0; round < rounds; round++) {
    await Promise.all(
      Array.from({ length: SHARDS * 10 }, async (_, i) => {
        const id = round * 1000 + i
        const response = await fetch(`${url}/users/${id}`)
        await response.arrayBuffer()
        sent[id % SHARDS]!++
        if (response.status === 200) ok[id % SHARDS]!++
        // Refusals by shedLoad are problem+json and not recorded; the app's own answers are.
        if (!response.headers.get('content-type')?.startsWith('application/problem+json')) recorded++
      }),
    )
    // The monitor records a request when its response closes: wait for all of them.
    await waitUntil(() => monitor.stats().requests.total === recorded, { what: 'every response recorded' })
    clock.advance(1000)
  }
  return ok.map((count, shard) => count / sent[shard]!)
}

function monitorWithDefaults(options: HealthMonitorOptions = {}) {
  const clock = createManualClock(Date.now())
  const monitor = createHealthMonitor({ clock, sampler: scriptedSampler(), ...options })
  cleanups.push(() => monitor.close())
  return { clock, monitor }
}

describe('one shard down under steady load (Express, real HTTP)', () => {
  it('with the defaults, users of the healthy shards keep >= 99 % success', async () => {
    const { clock, monitor } = monitorWithDefaults()
    const url = await shardedApp(monitor, markDependencyFailure)
    const success = await steadyLoad(url, clock, monitor)
    for (let shard = 0; shard < SHARDS; shard++) {
      if (shard === DOWN) expect(success[shard]).toBe(0)
      else expect(success[shard]).toBeGreaterThanOrEqual(0.99)
    }
    expect(monitor.status).toBe('healthy')
    expect(monitor.stats().requests).toMatchObject({ errors: 0, dependencyFailures: 300 })
  })

  it('with an error-rate threshold set, marked dependency refusals still shed no one; real errors do count', async () => {
    const thresholds = { errorRate: { degraded: { enter: 0.1, exit: 0.05 } } }
    const marked = monitorWithDefaults({ thresholds })
    const success = await steadyLoad(
      await shardedApp(marked.monitor, markDependencyFailure),
      marked.clock,
      marked.monitor,
    )
    for (const shard of [0, 1, 2]) expect(success[shard]).toBeGreaterThanOrEqual(0.99)
    expect(marked.monitor.stats().process).toMatchObject({ errorRate: 0, dependencyFailures: 10 })

    // The same refusals unmarked are errors to the monitor (25 % of the window): it sheds.
    const unmarked = monitorWithDefaults({ thresholds })
    const changes: StatusChange[] = []
    unmarked.monitor.on('change', (change) => changes.push(change))
    await steadyLoad(await shardedApp(unmarked.monitor, () => {}), unmarked.clock, unmarked.monitor, 4)
    expect(unmarked.monitor.status).toBe('degraded')
    expect(changes[0]?.reasons[0]).toMatchObject({ name: 'errorRate', status: 'degraded', value: 0.25 })
  })
})
