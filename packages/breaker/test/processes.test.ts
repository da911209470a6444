import {
  clusterNodes,
  describeRedis,
  redisUrl,
  startRedisServer,
  uniquePrefix,
  waitUntil,
} from '@headroom/testing'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { spawnFleet, stopFleet, type Worker } from './processes.helpers.js'

/** Three processes share one breaker through real Redis. */
describeRedis('shared breaker across 3 processes', (target) => {
  let workers: Worker[] = []

  beforeAll(async () => {
    const env: Record<string, string> = { PREFIX: uniquePrefix('breaker-proc'), RESET_MS: '600' }
    if (target.kind === 'cluster') env.CLUSTER_NODES = JSON.stringify(clusterNodes())
    else env.REDIS_URL = redisUrl()
    workers = await spawnFleet(3, env)
  })
  afterAll(async () => {
    await stopFleet(workers)
  })

  it('a failure burst seen by one process opens all three, again after each reset', async () => {
    const [a, b, c] = workers as [Worker, Worker, Worker]
    // How fast the open travels is a benchmark figure; this proves that it travels.
    for (let trial = 0; trial < 3; trial++) {
      const seen = workers.map((w) => w.states().length)
      const burst = await a.request({ cmd: 'burst', calls: 3 })
      expect(burst.state).toBe('open')
      await waitUntil(
        () =>
          [b, c].every((w, i) =>
            w
              .states()
              .slice(seen[i + 1])
              .some((s) => s.state === 'open'),
          ),
        {
          timeoutMs: 5_000,
          what: 'b and c open',
        },
      )
      const opened = a
        .states()
        .slice(seen[0])
        .find((s) => s.state === 'open')!
      expect(opened.remote).toBe(false)
      for (const [i, other] of [b, c].entries()) {
        const change = other
          .states()
          .slice(seen[i + 1])
          .find((s) => s.state === 'open')!
        expect(change.remote).toBe(true)
        expect(change.at).toBeGreaterThanOrEqual(opened.at)
      }
      if (trial < 2) {
        await a.request({ cmd: 'reset' })
        await waitUntil(() => workers.every((w) => w.states().at(-1)?.state === 'closed'), {
          timeoutMs: 5_000,
          what: 'fleet closed again',
        })
      }
    }
  })

  it('exactly one process probes in half-open, and its success closes all three', async () => {
    // Healthy again but slow, so a second concurrent probe would surely be seen.
    await Promise.all(workers.map((w) => w.request({ cmd: 'mode', fail: false, delayMs: 300 })))
    await Promise.all(workers.map((w) => w.request({ cmd: 'load', on: true })))
    await waitUntil(() => workers.every((w) => w.states().at(-1)?.state === 'closed'), {
      timeoutMs: 15_000,
      what: 'all closed again',
    })
    await Promise.all(workers.map((w) => w.request({ cmd: 'load', on: false })))
    const stats = await Promise.all(workers.map((w) => w.request({ cmd: 'stats' }, 'stats')))
    const probes = stats.map((s) => s.probes as number)
    const t0 = Math.min(...workers.flatMap((w) => w.states().map((s) => s.at)))
    const story = workers
      .map(
        (w, i) =>
          `#${i}: ${w
            .states()
            .map((s) => `${s.state}${s.remote ? '(remote)' : ''}@${Math.round(s.at - t0)}`)
            .join(' ')}`,
      )
      .join('\n')
    expect(
      probes.reduce((x, y) => x + y, 0),
      `probes ${probes.join(',')}\n${story}`,
    ).toBe(1)
    // Only the prober went through half-open; the others went straight from open to closed.
    const halfOpened = workers.filter((w) => w.states().some((s) => s.state === 'half-open'))
    expect(halfOpened).toHaveLength(1)
  })
})

describeRedis(
  'shared breaker across 3 processes, Redis stopped',
  () => {
    it('leaves each process on its own local state', async () => {
      const server = await startRedisServer()
      const workers = await spawnFleet(3, {
        PREFIX: uniquePrefix('breaker-down'),
        RESET_MS: '500',
        REDIS_URL: server.url,
      })
      try {
        const [a, b, c] = workers as [Worker, Worker, Worker]
        await server.stop()
        const burst = await a.request({ cmd: 'burst', calls: 3 })
        expect(burst.state).toBe('open')
        // The others never hear of it, and serve at once (no call waits on Redis).
        for (const other of [b, c]) {
          const call = await other.request({ cmd: 'call' })
          expect(call.ok).toBe(true)
          expect(call.state).toBe('closed')
          expect(call.ms as number).toBeLessThan(1_000)
        }
        // a recovers on its own: local half-open, local probe, closed.
        await a.request({ cmd: 'mode', fail: false, delayMs: 0 })
        await waitUntil(() => a.states().some((s) => s.state === 'half-open'), {
          timeoutMs: 10_000,
          what: 'a half-opens locally',
        })
        const probe = await a.request({ cmd: 'call' })
        expect(probe.ok).toBe(true)
        expect(probe.state).toBe('closed')
        expect(b.states()).toEqual([])
        expect(c.states()).toEqual([])
        const stats = await a.request({ cmd: 'stats' }, 'stats')
        expect((stats.stats as { shared: { storeErrors: number } }).shared.storeErrors).toBeGreaterThan(0)
      } finally {
        await stopFleet(workers)
        await server.close()
      }
    })
  },
  { cluster: false },
)
