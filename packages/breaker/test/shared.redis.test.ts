import { describeRedis, startRedisServer, waitUntil } from '@headroom/testing'
import { Redis } from 'ioredis'
import { afterEach, expect, it } from 'vitest'
import { type Breaker, type BreakerOptions, createBreaker, isCircuitOpenError } from '../src/index.js'
import { dependency, settle } from './helpers.js'

describeRedis('shared breaker state', (target) => {
  const made: Breaker<any, any>[] = []
  afterEach(async () => {
    await Promise.all(made.splice(0).map((b) => b.close()))
  })

  /** Instances of one fleet breaker, each with its own client, as separate processes would have. */
  const fleet = (count: number, prefix: string, options: BreakerOptions<[number?], number> = {}) => {
    const deps = Array.from({ length: count }, () => dependency())
    const breakers: Breaker<any, number>[] = deps.map((dep) => {
      const breaker = createBreaker(dep.fn, {
        volumeThreshold: 2,
        resetTimeout: 400,
        timeout: 2_000,
        ...options,
        shared: { redis: target.client(), name: 'astro', prefix, probeLeaseMs: 1_500 },
      })
      made.push(breaker)
      return breaker
    })
    return { deps, breakers }
  }

  const until = (check: () => boolean, what: string) => waitUntil(check, { timeoutMs: 5_000, what })

  it('opens every instance when one sees a failure burst', async () => {
    const { deps, breakers } = fleet(3, target.prefix('breaker'))
    const [a, b, c] = breakers as [Breaker<any, number>, Breaker<any, number>, Breaker<any, number>]
    await Promise.all(breakers.map((x) => x.ready()))
    const remote: boolean[] = []
    b.on('open', ({ remote: r }) => remote.push(r))
    deps[0]!.fail = true
    await settle(a.fire())
    await settle(a.fire())
    expect(a.state).toBe('open')
    await until(() => b.state === 'open' && c.state === 'open', 'b and c open')
    expect(remote).toEqual([true])
    // b never called its dependency, and now refuses without calling it.
    await expect(b.fire()).rejects.toSatisfy(isCircuitOpenError)
    expect(deps[1]!.calls).toBe(0)
  })

  it('an instance started while the fleet is open opens too (state read)', async () => {
    const prefix = target.prefix('breaker')
    const { breakers } = fleet(1, prefix, { resetTimeout: 10_000 })
    breakers[0]!.trip()
    await new Promise((resolve) => setTimeout(resolve, 100))
    const { breakers: late } = fleet(1, prefix, { resetTimeout: 10_000 })
    await until(() => late[0]!.state === 'open', 'late joiner open')
  })

  it('lets exactly one instance probe in half-open, and its verdict closes them all', async () => {
    const { deps, breakers } = fleet(3, target.prefix('breaker'))
    await Promise.all(breakers.map((x) => x.ready()))
    for (const dep of deps) dep.delayMs = 300
    breakers[0]!.trip()
    await until(() => breakers.every((b) => b.state === 'open'), 'all open')
    const before = deps.map((d) => d.calls)
    // Every instance keeps calling; only the lease holder's probe may reach its dependency.
    const stop = Date.now() + 3_000
    const pending: Promise<unknown>[] = []
    while (Date.now() < stop && !breakers.every((b) => b.state === 'closed')) {
      for (const b of breakers) if (b.state !== 'closed') pending.push(settle(b.fire()))
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await Promise.all(pending)
    expect(breakers.map((b) => b.state)).toEqual(['closed', 'closed', 'closed'])
    const probes = deps.map((d, i) => d.calls - before[i]!)
    expect(probes.reduce((x, y) => x + y, 0)).toBe(1)
    expect(breakers.map((b) => b.stats().shared!.probeLeases).reduce((x, y) => x + y, 0)).toBe(1)
  })

  it('a failed probe reopens the whole fleet', async () => {
    const { deps, breakers } = fleet(2, target.prefix('breaker'))
    await Promise.all(breakers.map((x) => x.ready()))
    breakers[0]!.trip()
    for (const dep of deps) dep.fail = true
    await until(() => breakers.some((b) => b.state === 'half-open'), 'a prober')
    const prober = breakers.find((b) => b.state === 'half-open')!
    const other = breakers.find((b) => b !== prober)!
    expect(other.state).toBe('open')
    const before = other.stats().openUntil!
    const reopenedAt = Date.now()
    await settle(prober.fire())
    expect(prober.state).toBe('open')
    // The other instance re-arms its reset timer from the reopen: resetTimeout (400 ms)
    // from then, not the lease wait (about 1.5 s) it had armed before.
    const rearmed = () => {
      const until = other.stats().openUntil ?? 0
      return until !== before && until >= reopenedAt + 395 && until <= reopenedAt + 900
    }
    await until(rearmed, 'the other instance re-armed')
    expect(other.state).toBe('open')
  })

  it('frees the lease when the prober dies without a verdict', async () => {
    const { breakers } = fleet(2, target.prefix('breaker'), { resetTimeout: 200 })
    await Promise.all(breakers.map((x) => x.ready()))
    breakers[0]!.trip()
    await until(() => breakers.some((b) => b.state === 'half-open'), 'a prober')
    const prober = breakers.find((b) => b.state === 'half-open')!
    const other = breakers.find((b) => b !== prober)!
    await prober.close()
    // The lease (1.5 s) runs out; the survivor asks again and probes itself.
    await waitUntil(() => other.state === 'half-open', { timeoutMs: 6_000, what: 'survivor probes' })
    await other.fire()
    expect(other.state).toBe('closed')
  })

  it('shares every keyed breaker of two registries, on one subscriber each', async () => {
    const { createBreakerRegistry } = await import('../src/index.js')
    const prefix = target.prefix('breaker')
    const one = createBreakerRegistry({ shared: { redis: target.client(), prefix } })
    const two = createBreakerRegistry({ shared: { redis: target.client(), prefix } })
    try {
      await two.get('host-1').ready()
      one.get('host-1').trip()
      await until(() => two.get('host-1').state === 'open', 'host-1 open in the other registry')
      expect(two.isAvailable('host-2')).toBe(true)
      // A key the other registry meets only now is read open at once.
      one.get('host-3').trip()
      await until(() => two.get('host-3').state === 'open', 'host-3 open on first use')
    } finally {
      await one.close()
      await two.close()
    }
  })

  it('runs on one shared hub for many breakers', async () => {
    const { createBreakerHub } = await import('../src/index.js')
    const prefix = target.prefix('breaker')
    const hubA = createBreakerHub({ redis: target.client(), prefix })
    const hubB = createBreakerHub({ redis: target.client(), prefix })
    try {
      const a1 = createBreaker(async () => 1, { shared: { hub: hubA, name: 'one' } })
      const a2 = createBreaker(async () => 2, { shared: { hub: hubA, name: 'two' } })
      const b1 = createBreaker(async () => 1, { shared: { hub: hubB, name: 'one' } })
      const b2 = createBreaker(async () => 2, { shared: { hub: hubB, name: 'two' } })
      made.push(a1, a2, b1, b2)
      expect(() => createBreaker(async () => 1, { shared: { hub: hubA, name: 'one' } })).toThrow(
        /already registered/,
      )
      await Promise.all([hubA.ready(), hubB.ready()])
      a2.trip()
      await until(() => b2.state === 'open', 'b2 open')
      expect(b1.state).toBe('closed')
      a2.reset()
      await until(() => b2.state === 'closed', 'b2 closed')
      expect(hubA.stats().breakers).toBe(2)
    } finally {
      await Promise.all(made.splice(0).map((b) => b.close()))
      await hubA.close()
      await hubB.close()
    }
  })
})

describeRedis(
  'shared breaker when Redis fails',
  () => {
    it('goes on with local state when Redis stops, and rejoins when it is back', async () => {
      const server = await startRedisServer()
      const clients = [0, 1].map(() => {
        const client = new Redis(server.port, server.host, {
          maxRetriesPerRequest: 1,
          retryStrategy: () => 100,
        })
        client.on('error', () => {})
        return client
      })
      const deps = [dependency(), dependency()]
      const breakers = deps.map((dep, i) =>
        createBreaker(dep.fn, {
          volumeThreshold: 2,
          resetTimeout: 300,
          shared: { redis: clients[i]!, name: 'astro', prefix: 't:breaker-down' },
        }),
      )
      const [a, b] = breakers as [Breaker<any, number>, Breaker<any, number>]
      try {
        await Promise.all(breakers.map((x) => x.ready()))
        await server.stop()

        // a opens on its own failures; b, which sees none, keeps serving.
        deps[0]!.fail = true
        await settle(a.fire())
        await settle(a.fire())
        expect(a.state).toBe('open')
        const started = Date.now()
        expect(await b.fire(5)).toBe(5)
        expect(Date.now() - started).toBeLessThan(1_000)
        await new Promise((resolve) => setTimeout(resolve, 300))
        expect(b.state).toBe('closed')

        // a half-opens and probes locally (no lease to ask for) and closes.
        deps[0]!.fail = false
        await waitUntil(() => a.state === 'half-open', { timeoutMs: 5_000, what: 'local half-open' })
        expect(await a.fire(1)).toBe(1)
        expect(a.state).toBe('closed')
        expect(a.stats().shared!.storeErrors).toBeGreaterThan(0)

        // An open made while Redis is down reaches the fleet once Redis is back.
        a.trip(20_000)
        expect(b.state).toBe('closed')
        await server.start()
        await waitUntil(() => b.state === 'open', {
          timeoutMs: 15_000,
          what: 'b learns of the open a made while Redis was down',
        })
        expect(a.stats().shared!.mode).toBe('redis')
      } finally {
        await Promise.all(breakers.map((x) => x.close()))
        for (const client of clients) client.disconnect()
        await server.close()
      }
    })
  },
  { cluster: false },
)
