import { createManualClock, isHeadroomError } from '@headroom/core'
import { describe, expect, it, vi } from 'vitest'
import {
  createShardRouter,
  isShardUnavailableError,
  isUnknownShardError,
  type ShardRouter,
  type ShardSpec,
  StalePlanError,
  UnknownTargetError,
} from '../src/index.js'

const four: ShardSpec<string>[] = [1, 2, 3, 4].map((i) => ({
  id: `users-${i}`,
  primary: `primary-${i}`,
  replicas: [`replica-${i}a`, `replica-${i}b`],
}))

function keysOf(router: ShardRouter<string>, n = 2000): Map<string, string> {
  const map = new Map<string, string>()
  for (let i = 0; i < n; i++) map.set(`user:${i}`, router.shardFor(`user:${i}`).id)
  return map
}

describe('createShardRouter', () => {
  it('published test vectors: the same key maps to the same shard in every process, forever', () => {
    const router = createShardRouter({ shards: four })
    const vectors: Record<string, string> = {}
    for (const key of ['user:1', 'user:2', 'user:42', 'user:1000', 'tenant:acme', 'é', ''])
      vectors[key] = router.shardFor(key).id
    expect(vectors).toMatchInlineSnapshot(`
      {
        "": "users-3",
        "tenant:acme": "users-4",
        "user:1": "users-1",
        "user:1000": "users-3",
        "user:2": "users-1",
        "user:42": "users-2",
        "é": "users-3",
      }
    `)
    const sixteen = createShardRouter({
      shards: Array.from({ length: 16 }, (_, i) => ({ id: `s${i}`, primary: i })),
      seed: 7,
    })
    expect(['a', 'b', 'c', 'user:99'].map((k) => sixteen.shardFor(k).id)).toMatchInlineSnapshot(`
      [
        "s12",
        "s10",
        "s9",
        "s5",
      ]
    `)
  })

  it('is deterministic across instances and independent of replicas and targets', () => {
    const a = createShardRouter({ shards: four })
    const b = createShardRouter({ shards: four.map((s) => ({ id: s.id, primary: { url: s.primary } })) })
    for (let i = 0; i < 500; i++) expect(b.shardFor(`k${i}`).id).toBe(a.shardFor(`k${i}`).id)
  })

  it('writes go to the primary, reads round-robin over replicas', () => {
    const router = createShardRouter({ shards: four })
    const shard = router.shardFor('user:1')
    expect(router.route('user:1', { write: true })).toEqual({ shard, target: shard.primary, role: 'primary' })
    const reads = [0, 1, 2, 3].map(() => router.route('user:1').target)
    expect(reads).toEqual([shard.replicas[0], shard.replicas[1], shard.replicas[0], shard.replicas[1]])
    expect(router.stats()).toMatchObject({ reads: 4, writes: 1 })
  })

  it('reads its own writes within the window, per session and shard (manual clock)', () => {
    const clock = createManualClock(0)
    const router = createShardRouter({ shards: four, clock, readYourWritesMs: 500 })
    router.route('user:1', { write: true, session: 'alice' })
    expect(router.route('user:1', { session: 'alice' }).role).toBe('primary')
    expect(router.route('user:1', { session: 'bob' }).role).toBe('replica')
    expect(router.route('user:1').role).toBe('replica')
    clock.advance(499)
    expect(router.route('user:1', { session: 'alice' }).role).toBe('primary')
    clock.advance(1)
    expect(router.route('user:1', { session: 'alice' }).role).toBe('replica')
    expect(router.stats().readYourWrites).toBe(2)
  })

  it('bounds the sessions it remembers', () => {
    const router = createShardRouter({ shards: four, maxSessions: 10 })
    for (let i = 0; i < 100; i++) router.route(`user:${i}`, { write: true, session: `s${i}` })
    expect(router.stats().sessions).toBe(10)
    // The newest are kept.
    expect(router.route('user:99', { session: 's99' }).role).toBe('primary')
  })

  it('skips lagging replicas and takes them back when they catch up', () => {
    const router = createShardRouter({ shards: four, maxReplicaLagMs: 1000 })
    const shard = router.shardFor('user:1')
    router.reportLag(shard.replicas[0]!, 5000)
    for (let i = 0; i < 4; i++) expect(router.route('user:1').target).toBe(shard.replicas[1])
    router.reportLag(shard.replicas[0]!, 10)
    const seen = new Set([0, 1, 2, 3].map(() => router.route('user:1').target))
    expect(seen).toEqual(new Set(shard.replicas))
  })

  it('with replay reported, a session that wrote reads a replica only once it replayed past its window', () => {
    const clock = createManualClock(1_000_000)
    const router = createShardRouter({
      shards: [{ id: 'a', primary: 'p', replicas: ['r1', 'r2'] }],
      readYourWritesMs: 100,
      maxReplicaLagMs: 5000,
      clock,
    })
    router.reportLag('r1', 0, { replayedAt: clock.now() })
    router.reportLag('r2', 0, { replayedAt: clock.now() })
    router.route('k', { write: true, session: 's' })
    const windowEnd = clock.now() + 100
    expect(router.route('k', { session: 's' }).role).toBe('primary')
    clock.advance(150)
    // Past the window, neither replica has replayed what the primary held at its end.
    for (let i = 0; i < 4; i++) expect(router.route('k', { session: 's' }).target).toBe('p')
    expect(router.route('k', { session: 'other' }).role).toBe('replica')
    router.reportLag('r1', 120, { replayedAt: windowEnd })
    const targets = new Set([0, 1, 2, 3].map(() => router.route('k', { session: 's' }).target))
    expect(targets).toEqual(new Set(['p', 'r1']))
    // Past the window plus maxReplicaLagMs the session is forgotten.
    clock.advance(5000)
    expect(new Set([0, 1].map(() => router.route('k', { session: 's' }).target))).toEqual(
      new Set(['r1', 'r2']),
    )
    expect(() => router.reportLag('r1', Number.NaN)).toThrow(/expected the lag as a number/)
  })

  it('ejects and readmits targets; reasons stack; events fire', () => {
    const router = createShardRouter({ shards: four })
    const shard = router.shardFor('user:1')
    const events: string[] = []
    router.on('eject', (e) => events.push(`eject ${e.role} ${e.reason}`))
    router.on('readmit', (e) => events.push(`readmit ${e.role} ${e.reason}`))
    const [a, b] = shard.replicas as [string, string]
    router.eject(a)
    router.eject(a, 'lag')
    expect(router.isHealthy(a)).toBe(false)
    expect(router.route('user:1').target).toBe(b)
    router.readmit(a)
    expect(router.isHealthy(a)).toBe(false)
    router.readmit(a, 'lag')
    expect(router.isHealthy(a)).toBe(true)
    expect(events).toEqual([
      'eject replica unhealthy',
      'eject replica lag',
      'readmit replica unhealthy',
      'readmit replica lag',
    ])
    expect(() => router.eject('nobody')).toThrow(UnknownTargetError)
  })

  it('falls back to the primary when every replica is out, and refuses when nothing is left', () => {
    const router = createShardRouter({ shards: four })
    const shard = router.shardFor('user:1')
    for (const r of shard.replicas) router.eject(r)
    expect(router.route('user:1')).toMatchObject({ role: 'primary', target: shard.primary })
    expect(router.stats().primaryFallbacks).toBe(1)
    router.eject(shard.primary)
    const unavailable = vi.fn()
    router.on('unavailable', unavailable)
    let error: unknown
    try {
      router.route('user:1')
    } catch (e) {
      error = e
    }
    expect(isShardUnavailableError(error)).toBe(true)
    expect(String(error)).toContain(shard.id)
    expect(() => router.route('user:1', { write: true })).toThrow(/primary is ejected/)
    expect(unavailable).toHaveBeenCalledTimes(2)
    expect(router.stats()).toMatchObject({ unavailable: 2, ejected: 3 })
    // Other shards are untouched.
    const other = four.find((s) => s.id !== shard.id)!
    const otherKey = [...keysOf(router)].find(([, id]) => id === other.id)![0]
    expect(router.route(otherKey, { write: true }).target).toBe(other.primary)
    router.readmit(shard.primary)
    expect(router.route('user:1', { write: true }).target).toBe(shard.primary)
  })

  it('stats().ejected counts the current shards only, after a topology change too', () => {
    const router = createShardRouter({ shards: four })
    router.eject('primary-4')
    router.eject('replica-1a')
    expect(router.stats().ejected).toBe(2)
    // The removed shard's ejected primary is no longer one of the router's targets.
    router.removeShard('users-4')
    expect(router.stats().ejected).toBe(1)
    router.addShard({ id: 'users-5', primary: 'primary-5' })
    expect(router.stats().ejected).toBe(1)
    router.readmit('replica-1a')
    expect(router.stats().ejected).toBe(0)
  })

  it('without fallbackToPrimary, reads fail when no replica is healthy', () => {
    const router = createShardRouter({ shards: four, fallbackToPrimary: false })
    const shard = router.shardFor('user:1')
    for (const r of shard.replicas) router.eject(r)
    expect(() => router.route('user:1')).toThrow(/no replica is healthy/)
  })

  it('run() feeds the replica balancer: least-connections avoids a busy replica', async () => {
    const router = createShardRouter({ shards: four, balancer: 'least-connections' })
    const shard = router.shardFor('user:1')
    let release!: () => void
    const slow = router.run('user:1', (target) => new Promise<string>((r) => (release = () => r(target))))
    const busy = await Promise.race([slow, Promise.resolve('pending')])
    expect(busy).toBe('pending')
    const next = await router.run('user:1', (target) => target)
    release()
    const first = await slow
    expect(next).not.toBe(first)
    expect(shard.replicas).toContain(first)
    await expect(router.run('user:1', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
  })

  it('tier routing: premium reads use the replicas reserved for them', () => {
    const shards: ShardSpec<string>[] = [
      { id: 'only', primary: 'p', replicas: ['shared-1', 'shared-2', 'premium-1'] },
    ]
    const router = createShardRouter({ shards, reserved: { premium: ['premium-1'] } })
    for (let i = 0; i < 4; i++) expect(router.route('k', { tier: 'premium' }).target).toBe('premium-1')
    const free = new Set([0, 1, 2, 3].map(() => router.route('k', { tier: 'free' }).target))
    expect(free).toEqual(new Set(['shared-1', 'shared-2']))
    router.eject('premium-1')
    expect(['shared-1', 'shared-2']).toContain(router.route('k', { tier: 'premium' }).target)
  })

  it('forEachShard fans out to every shard and keeps shard order', async () => {
    const router = createShardRouter({ shards: four })
    const results = await router.forEachShard(async (target, shard) => `${shard.id}:${target}`, {
      write: true,
    })
    expect(results).toEqual(four.map((s) => `${s.id}:${s.primary}`))
    const reads = await router.forEachShard((target) => target, { concurrency: 1 })
    reads.forEach((target, i) => {
      expect(four[i]!.replicas).toContain(target)
    })
  })

  it('forEachShard rejects with an AggregateError naming the shards that failed, after all settle', async () => {
    const router = createShardRouter({ shards: four })
    const done: string[] = []
    const run = router.forEachShard(async (_, shard) => {
      if (shard.id === 'users-2' || shard.id === 'users-4') throw new Error(`down ${shard.id}`)
      done.push(shard.id)
      return shard.id
    })
    await expect(run).rejects.toThrow(/2 of 4 shards failed \(users-2, users-4\)/)
    expect(done.sort()).toEqual(['users-1', 'users-3'])
  })

  it('plan() describes the exact moves and changes nothing; apply() switches; a stale plan is refused', () => {
    const router = createShardRouter({ shards: four })
    const before = keysOf(router)
    const plan = router.plan([...four, { id: 'users-5', primary: 'primary-5' }])
    expect(plan.added).toEqual(['users-5'])
    expect(plan.removed).toEqual([])
    expect(plan.optimalFraction).toBeCloseTo(0.2, 10)
    expect(plan.movedFraction).toBeLessThanOrEqual(0.2 * 1.02)
    expect(plan.moves.length).toBe(Math.round(plan.movedFraction * 65536))
    expect(plan.moves.every((m) => m.to === 'users-5')).toBe(true)
    expect(plan.transfers.map((t) => t.from).sort()).toEqual(['users-1', 'users-2', 'users-3', 'users-4'])
    expect(plan.after.find((l) => l.id === 'users-5')!.share).toBeCloseTo(0.2, 3)
    expect(keysOf(router)).toEqual(before)
    const other = router.plan(four.slice(0, 3))
    router.apply(plan)
    expect(router.shards.map((s) => s.id)).toContain('users-5')
    for (const [key, id] of keysOf(router)) if (id !== before.get(key)) expect(id).toBe('users-5')
    expect(() => router.apply(other)).toThrow(StalePlanError)
  })

  it('removeShard moves only its keys; the layout survives a restart', () => {
    const router = createShardRouter({ shards: four })
    const before = keysOf(router)
    const plan = router.removeShard('users-2')
    expect(plan.removed).toEqual(['users-2'])
    for (const [key, id] of keysOf(router))
      if (before.get(key) !== 'users-2') expect(id).toBe(before.get(key))
    const layout = JSON.parse(JSON.stringify(router.layout()))
    const restarted = createShardRouter({ shards: router.shards.map((s) => ({ ...s })), layout })
    expect(keysOf(restarted)).toEqual(keysOf(router))
    // A layout plus a longer shard list adds the newcomer exactly as addShard would.
    const grown = createShardRouter({ shards: [...router.shards, { id: 'users-9', primary: 'p9' }], layout })
    router.addShard({ id: 'users-9', primary: 'p9' })
    expect(keysOf(grown)).toEqual(keysOf(router))
  })

  it('a shard whose targets change keeps its keys and gets fresh routing state', () => {
    const router = createShardRouter({ shards: four })
    const before = keysOf(router)
    router.eject('replica-1a')
    const plan = router.plan(four.map((s) => (s.id === 'users-1' ? { ...s, replicas: ['replica-1c'] } : s)))
    expect(plan.movedFraction).toBe(0)
    router.apply(plan)
    expect(keysOf(router)).toEqual(before)
    expect(router.shard('users-1').replicas).toEqual(['replica-1c'])
    expect(() => router.eject('replica-1a')).toThrow(UnknownTargetError)
  })

  it('emits topology events and counts changes', () => {
    const router = createShardRouter({ shards: four })
    const seen: number[] = []
    router.on('topology', (e) => seen.push(e.version))
    router.addShard({ id: 'users-5', primary: 'p5' })
    router.removeShard('users-5')
    expect(seen).toHaveLength(2)
    expect(router.stats()).toMatchObject({ topologyChanges: 2, shards: 4 })
    expect(router.stats().topologyChangeMs.count).toBe(2)
  })

  describe('bad input is refused with a clear error and changes nothing', () => {
    it.each([
      [{ shards: [] }, /option "shards": expected at least one shard/],
      [
        {
          shards: [
            { id: 'a', primary: 'x' },
            { id: 'a', primary: 'y' },
          ],
        },
        /"shards.1.id": duplicate shard id "a"/,
      ],
      [
        { shards: [{ id: 'a', primary: 'x', weight: 0 }] },
        /"shards.0.weight": expected a weight above 0 \(received 0\)/,
      ],
      [{ shards: [{ id: 'a', primary: 'x', weight: -2 }] }, /"shards.0.weight"/],
      [{ shards: [{ id: '', primary: 'x' }] }, /"shards.0.id": expected a non-empty id/],
      [{ shards: [{ id: 'a' }] }, /"shards.0.primary": expected a primary target/],
      [{ shards: four, logicalShards: 0 }, /"logicalShards"/],
      [{ shards: four, logicalShards: 1.5 }, /"logicalShards": expected an integer/],
      [{ shards: four, balancer: 'random' }, /"balancer"/],
      [{ shards: four, strategy: 'modulo' }, /"strategy"/],
    ])('%j', (options, message) => {
      expect(() => createShardRouter(options as never)).toThrow(message)
    })

    it('unknown shard ids, duplicate adds, bad plans and the last shard', () => {
      const router = createShardRouter({ shards: four })
      const before = keysOf(router, 200)
      let error: unknown
      try {
        router.shard('nope')
      } catch (e) {
        error = e
      }
      expect(isUnknownShardError(error)).toBe(true)
      expect(() => router.removeShard('nope')).toThrow(/Unknown shard id "nope"/)
      expect(() => router.addShard({ id: 'users-1', primary: 'x' })).toThrow(/duplicate shard id "users-1"/)
      expect(() => router.addShard({ id: 'users-9', primary: 'x', weight: 0 })).toThrow(/weight above 0/)
      expect(() => router.plan([])).toThrow(/expected at least one shard/)
      expect(() => router.plan([...four, four[0]!])).toThrow(/duplicate shard id/)
      const single = createShardRouter({ shards: [four[0]!] })
      expect(() => single.removeShard('users-1')).toThrow(/last shard/)
      expect(keysOf(router, 200)).toEqual(before)
      expect(router.stats().version).toBe(1)
    })

    it('a corrupt or mismatched layout', () => {
      const layout = createShardRouter({ shards: four }).layout()
      expect(() => createShardRouter({ shards: four, layout: { ...layout, owners: 'AAAA' } })).toThrow(
        /"layout.owners": expected 65536 owners/,
      )
      expect(() => createShardRouter({ shards: four, layout, logicalShards: 1024 })).toThrow(
        /"logicalShards"/,
      )
      expect(() => createShardRouter({ shards: four, layout: { ...layout, version: 2 } as never })).toThrow(
        /"layout.version": expected layout version 1 \(received 2\)/,
      )
    })
  })

  it('errors are Headroom errors with codes', () => {
    const router = createShardRouter({ shards: four })
    try {
      router.shard('x')
    } catch (error) {
      expect(isHeadroomError(error, 'E_UNKNOWN_SHARD')).toBe(true)
    }
  })
})
