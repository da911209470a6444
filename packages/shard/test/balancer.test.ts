import { createManualClock } from '@headroom/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createBalancer, NoHealthyTargetError } from '../src/index.js'

/** A seeded random source, so p2c picks are reproducible. */
function seeded(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 4294967296
  }
}

describe('createBalancer', () => {
  it('round-robin visits every healthy target in turn', () => {
    const balancer = createBalancer({ targets: ['a', 'b', 'c'] })
    expect([0, 1, 2, 3, 4, 5].map(() => balancer.pick())).toEqual(['a', 'b', 'c', 'a', 'b', 'c'])
    balancer.eject('b')
    expect(new Set([0, 1, 2, 3].map(() => balancer.pick()))).toEqual(new Set(['a', 'c']))
    expect(balancer.stats()).toMatchObject({ targets: 3, healthy: 2 })
  })

  it('least-connections picks the target with the fewest calls in flight', () => {
    const balancer = createBalancer({ targets: ['a', 'b', 'c'], strategy: 'least-connections' })
    const endA = balancer.begin('a')
    balancer.begin('a')
    balancer.begin('b')
    expect(balancer.pick()).toBe('c')
    endA()
    endA() // ending twice counts once
    expect(balancer.stats().perTarget.find((t) => t.id === 'a')!.inflight).toBe(1)
  })

  it('p2c-ewma prefers the faster target and retries a slow one after it decays (manual clock)', () => {
    const clock = createManualClock(0)
    const balancer = createBalancer({
      targets: ['fast', 'slow'],
      strategy: 'p2c-ewma',
      clock,
      random: seeded(1),
      decayMs: 1000,
    })
    for (let i = 0; i < 5; i++) {
      const fast = balancer.begin('fast')
      const slow = balancer.begin('slow')
      clock.advance(10)
      fast()
      clock.advance(190)
      slow()
    }
    const picks = Array.from({ length: 50 }, () => balancer.pick())
    expect(picks.filter((t) => t === 'fast').length).toBe(50)
    expect(balancer.stats().perTarget.find((t) => t.id === 'slow')!.ewmaMs).toBeGreaterThan(100)
    // The slow one idles while the fast one keeps serving at 10 ms: once its average has
    // decayed below that, it gets tried again (a recovered replica is not starved forever).
    clock.advance(5000)
    const end = balancer.begin('fast')
    clock.advance(10)
    end()
    const later = Array.from({ length: 50 }, () => balancer.pick())
    expect(later).toContain('slow')
  })

  it('p2c-ewma counts failures as slow', async () => {
    const clock = createManualClock(0)
    const balancer = createBalancer({ targets: ['a', 'b'], strategy: 'p2c-ewma', clock, random: seeded(3) })
    balancer.begin('a')(false)
    balancer.begin('b')(true)
    expect(balancer.stats().perTarget.find((t) => t.id === 'a')).toMatchObject({ failures: 1, ewmaMs: 1000 })
    expect(balancer.pick()).toBe('b')
    await expect(balancer.run(() => Promise.reject(new Error('x')))).rejects.toThrow('x')
  })

  it('ip-hash is sticky, and ejecting a target moves only its clients (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string(), { minLength: 1, maxLength: 50 }),
        fc.integer({ min: 0, max: 4 }),
        (keys, victim) => {
          const targets = ['t0', 't1', 't2', 't3', 't4']
          const balancer = createBalancer({ targets, strategy: 'ip-hash' })
          const before = keys.map((key) => balancer.pick({ key }))
          expect(keys.map((key) => balancer.pick({ key }))).toEqual(before)
          balancer.eject(targets[victim]!)
          keys.forEach((key, i) => {
            const now = balancer.pick({ key })
            if (before[i] !== targets[victim]) expect(now).toBe(before[i])
            else expect(now).not.toBe(targets[victim])
          })
        },
      ),
      { numRuns: 50 },
    )
  })

  it('ip-hash agrees across instances with the same target ids', () => {
    const a = createBalancer({ targets: ['x', 'y', 'z'], strategy: 'ip-hash' })
    const b = createBalancer({ targets: ['z', 'x', 'y'], strategy: 'ip-hash' })
    for (let i = 0; i < 100; i++) expect(b.pick({ key: `10.0.0.${i}` })).toBe(a.pick({ key: `10.0.0.${i}` }))
  })

  it('tier routing reserves targets for a tier and spills over only if allowed', () => {
    const balancer = createBalancer({ targets: ['s1', 's2', 'p1'], reserved: { premium: ['p1'] } })
    expect(balancer.pick({ tier: 'premium' })).toBe('p1')
    expect(new Set([0, 1, 2, 3].map(() => balancer.pick({ tier: 'free' })))).toEqual(new Set(['s1', 's2']))
    expect(new Set([0, 1, 2, 3].map(() => balancer.pick()))).toEqual(new Set(['s1', 's2']))
    balancer.eject('p1')
    expect(['s1', 's2']).toContain(balancer.pick({ tier: 'premium' }))
    const strict = createBalancer({ targets: ['s1', 'p1'], reserved: { premium: ['p1'] }, spill: false })
    strict.eject('p1')
    expect(() => strict.pick({ tier: 'premium' })).toThrow(/Every target for tier "premium" is ejected/)
  })

  it('throws NoHealthyTargetError when all are ejected, and events fire once per change', () => {
    const balancer = createBalancer({ targets: [{ name: 'obj' }] })
    const target = balancer.healthy()[0]!
    const seen: string[] = []
    balancer.on('eject', (e) => seen.push(`eject ${e.id} ${e.reason}`))
    balancer.on('readmit', (e) => seen.push(`readmit ${e.id}`))
    balancer.eject(target)
    balancer.eject(target)
    expect(() => balancer.pick()).toThrow(NoHealthyTargetError)
    expect(balancer.tryPick()).toBeUndefined()
    balancer.readmit(target)
    balancer.readmit(target)
    expect(balancer.pick()).toBe(target)
    expect(seen).toEqual(['eject #0 unhealthy', 'readmit #0'])
    expect(balancer.stats().exhausted).toBe(2)
  })

  it('refuses bad options with a clear error', () => {
    expect(() => createBalancer({ targets: ['a'], strategy: 'random' as never })).toThrow(/"strategy"/)
    expect(() => createBalancer({ targets: ['a', 'a'] })).toThrow(/"targets.1": duplicate target/)
    expect(() => createBalancer({ targets: ['a'], reserved: { vip: ['b'] } })).toThrow(/"reserved.vip"/)
    expect(() => createBalancer({ targets: ['a'], decayMs: 0 })).toThrow(/"decayMs"/)
    expect(() => createBalancer({ targets: ['a'] }).eject('b')).toThrow(/no target "b"/)
  })
})
