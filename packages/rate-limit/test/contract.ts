import { createManualClock, type ManualClock } from '@headroom/core'
import { afterEach, expect, it } from 'vitest'
import type { RateLimiter, RateLimiterOptions } from '../src/index.js'

/** Makes a limiter on the store under test; every limiter made in one test shares the store's namespace. */
export type LimiterFactory = (options: RateLimiterOptions, namespace: string) => RateLimiter

/** A start time that is not window-aligned, like real time. */
export const T0 = 1_700_000_000_123

/**
 * The store contract: memory and Redis (standalone and Cluster) run these same cases
 * with a manual clock (Redis in `time: 'client'` mode), so both stores must decide
 * identically.
 */
export function storeContract(make: LimiterFactory): void {
  let clock: ManualClock
  let namespace = ''
  let counter = 0
  const limiters: RateLimiter[] = []
  const limiter = (options: Omit<RateLimiterOptions, 'clock'>) => {
    const made = make({ ...options, clock }, namespace)
    limiters.push(made)
    return made
  }
  const fresh = () => {
    clock = createManualClock(T0)
    namespace = `n${++counter}${Math.random().toString(36).slice(2, 8)}`
  }
  fresh()
  afterEach(async () => {
    await Promise.all(limiters.splice(0).map((l) => l.close()))
    fresh()
  })

  it('GCRA admits the burst, then refuses with an exact retryAfterMs', async () => {
    const l = limiter({ limit: 10, window: 1000 })
    for (let i = 0; i < 10; i++) expect((await l.consume('k')).allowed).toBe(true)
    const refused = await l.consume('k')
    expect(refused).toMatchObject({
      allowed: false,
      retryAfterMs: 100,
      remaining: 0,
      policy: 'default',
      limit: 10,
    })
    clock.advance(99)
    expect((await l.peek('k')).allowed).toBe(false)
    clock.advance(1)
    expect((await l.consume('k')).allowed).toBe(true)
  })

  for (const algorithm of [
    'gcra',
    'token-bucket',
    'fixed-window',
    'sliding-window',
    'sliding-log',
  ] as const) {
    it(`${algorithm}: admits the limit, refuses the next, recovers after retryAfterMs`, async () => {
      const l = limiter({ algorithm, limit: 5, window: 1000, blockedCache: false })
      const decisions = await Promise.all(Array.from({ length: 8 }, () => l.consume('k')))
      expect(decisions.filter((d) => d.allowed)).toHaveLength(5)
      expect(decisions.map((d) => d.remaining).slice(0, 5)).toEqual([4, 3, 2, 1, 0])
      const refused = decisions[7]!
      expect(refused.allowed).toBe(false)
      expect(refused.retryAfterMs).toBeGreaterThan(0)
      expect(refused.retryAfterMs).toBeLessThanOrEqual(2000)
      clock.advance(refused.retryAfterMs)
      expect((await l.consume('k')).allowed).toBe(true)
    })

    it(`${algorithm}: fractional costs add up exactly`, async () => {
      const l = limiter({ algorithm, limit: 1, window: 60_000, blockedCache: false })
      const remaining: number[] = []
      for (let i = 0; i < 10; i++) {
        const d = await l.consume('k', { cost: 0.1 })
        expect(d.allowed).toBe(true)
        remaining.push(d.remaining)
      }
      expect(remaining).toEqual([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0])
      expect((await l.consume('k', { cost: 0.1 })).allowed).toBe(false)
    })

    it(`${algorithm}: a cost above the limit is refused for ever`, async () => {
      const l = limiter({ algorithm, limit: 3, window: 1000 })
      const d = await l.consume('k', { cost: 4 })
      expect(d.allowed).toBe(false)
      expect(d.retryAfterMs).toBe(Number.POSITIVE_INFINITY)
      expect((await l.consume('k', { cost: 3 })).allowed).toBe(true)
    })

    it(`${algorithm}: refund gives units back`, async () => {
      const l = limiter({ algorithm, limit: 2, window: 10_000, blockedCache: false })
      await l.consume('k')
      await l.consume('k')
      expect((await l.consume('k')).allowed).toBe(false)
      const after = await l.refund('k')
      expect(after.remaining).toBe(1)
      expect((await l.consume('k')).allowed).toBe(true)
      expect((await l.consume('k')).allowed).toBe(false)
    })
  }

  it('peek writes nothing', async () => {
    const l = limiter({ limit: 3, window: 1000 })
    await l.consume('k')
    for (let i = 0; i < 5; i++) expect(await l.peek('k')).toMatchObject({ allowed: true, remaining: 2 })
    expect((await l.consume('k')).remaining).toBe(1)
  })

  it('multi-policy: a refusal by one policy consumes nothing from the others', async () => {
    const policies = [
      { name: 'second', limit: 2, window: 1000 },
      { name: 'day', limit: 3, window: 86_400_000 },
    ]
    const l = limiter({ policies, blockedCache: false })
    expect((await l.consume('k')).allowed).toBe(true)
    expect((await l.consume('k')).allowed).toBe(true)
    // Refused by the per-second policy: the daily budget must stay at 1 left.
    for (let i = 0; i < 5; i++)
      expect(await l.consume('k')).toMatchObject({ allowed: false, policy: 'second' })
    clock.advance(1000)
    const third = await l.consume('k')
    expect(third).toMatchObject({ allowed: true, policy: 'day' })
    expect(third.remaining).toBeLessThan(0.001)
    // Refused by the daily policy: the per-second budget (1 of 2 used) must stay untouched.
    const refused = await l.consume('k')
    expect(refused).toMatchObject({ allowed: false, policy: 'day', limit: 3 })
    expect(refused.retryAfterMs).toBeGreaterThan(28_000_000)
    const perSecond = limiter({ policies: [policies[0]!], blockedCache: false })
    expect(await perSecond.peek('k')).toMatchObject({ allowed: true, remaining: 1, policy: 'second' })
  })

  it('per-request limits share one state (tiers)', async () => {
    const l = limiter({ limit: 2, window: 60_000, blockedCache: false })
    expect((await l.consume('u')).allowed).toBe(true)
    expect((await l.consume('u')).allowed).toBe(true)
    expect((await l.consume('u')).allowed).toBe(false)
    const premium = await l.consume('u', { limit: 5 })
    expect(premium).toMatchObject({ allowed: true, limit: 5 })
    // 3 of 5 used now: the debt moved to the new limit in units, not in time.
    expect(premium.remaining).toBeCloseTo(2, 6)
  })

  it('block refuses the key in every process until it ends; reset forgets it', async () => {
    const a = limiter({ limit: 100, window: 1000 })
    const b = limiter({ limit: 100, window: 1000 })
    await a.block('k', 500)
    expect(await a.consume('k')).toMatchObject({
      allowed: false,
      policy: 'block',
      retryAfterMs: 500,
      source: 'blocked',
    })
    const fromStore = await b.consume('k')
    expect(fromStore).toMatchObject({ allowed: false, policy: 'block', retryAfterMs: 500 })
    expect(fromStore.source).not.toBe('blocked')
    clock.advance(500)
    expect((await b.consume('k')).allowed).toBe(true)
    await a.block('k', 10_000)
    await b.reset('k')
    expect((await b.consume('k')).allowed).toBe(true)
  })

  const blockCases: [string, Omit<RateLimiterOptions, 'clock'>, number][] = [
    ['gcra', { limit: 3, window: 10_000 }, 2.3],
    ['fixed-window', { algorithm: 'fixed-window', limit: 3, window: 10_000 }, 2],
    [
      'two policies',
      {
        algorithm: 'fixed-window',
        policies: [
          { name: 's', limit: 3, window: 10_000 },
          { name: 'd', limit: 10, window: 86_400_000 },
        ],
      },
      2,
    ],
  ]
  for (const [label, options, left] of blockCases) {
    it(`a block keeps the state under it, and a refund during it does not lift it (${label})`, async () => {
      const l = limiter({ ...options, blockedCache: false })
      await l.consume('k')
      await l.consume('k')
      await l.block('k', 1000)
      expect(await l.consume('k')).toMatchObject({ allowed: false, policy: 'block', retryAfterMs: 1000 })
      clock.advance(400)
      await l.refund('k')
      expect(await l.consume('k')).toMatchObject({ allowed: false, policy: 'block', retryAfterMs: 600 })
      // Per-request limits (tiers) are blocked too.
      expect(await l.consume('k', { limit: 100 })).toMatchObject({ allowed: false, policy: 'block' })
      expect(await l.peek('k')).toMatchObject({ allowed: false, policy: 'block', retryAfterMs: 600 })
      clock.advance(600)
      // Two used, one refunded (and, for GCRA, 0.3 replenished in the second that passed).
      const after = await l.peek('k')
      expect(after.allowed).toBe(true)
      expect(after.remaining).toBeCloseTo(left, 6)
      expect((await l.consume('k')).allowed).toBe(true)
    })
  }

  it('the blocked-key fast path answers without the store, and refund clears it', async () => {
    const l = limiter({ limit: 1, window: 1000 })
    await l.consume('k')
    await l.consume('k')
    const before = l.stats().fastPathRefusals
    const cached = await l.consume('k')
    expect(cached).toMatchObject({ allowed: false, source: 'blocked' })
    expect(l.stats().fastPathRefusals).toBe(before + 1)
    clock.advance(400)
    expect((await l.consume('k')).retryAfterMs).toBe(600)
    await l.refund('k')
    expect((await l.consume('k')).allowed).toBe(true)
  })

  it('coalesced concurrent decisions on one key admit exactly the limit', async () => {
    const l = limiter({ limit: 20, window: 60_000, blockedCache: false })
    const decisions = await Promise.all(Array.from({ length: 60 }, () => l.consume('hot')))
    expect(decisions.filter((d) => d.allowed)).toHaveLength(20)
    expect(decisions.slice(0, 20).every((d) => d.allowed)).toBe(true)
  })

  it('coalesced decisions on many keys are kept apart', async () => {
    const l = limiter({ algorithm: 'fixed-window', limit: 3, window: 60_000, blockedCache: false })
    const keys = Array.from({ length: 40 }, (_, i) => `user:${i}`)
    const decisions = await Promise.all(keys.flatMap((key) => [1, 2, 3, 4, 5].map(() => l.consume(key))))
    for (let k = 0; k < keys.length; k++) {
      const mine = decisions.slice(k * 5, k * 5 + 5)
      expect(mine.map((d) => d.allowed)).toEqual([true, true, true, false, false])
    }
  })

  it('rejects bad input with a TypeError and changes nothing', async () => {
    const l = limiter({ limit: 3, window: 1000 })
    await l.consume('k')
    await expect(l.consume('', {})).rejects.toThrow(TypeError)
    await expect(l.consume('')).rejects.toThrow(TypeError)
    await expect(l.consume(42 as unknown as string)).rejects.toThrow(TypeError)
    await expect(l.consume('k', { cost: -1 })).rejects.toThrow(/cost/)
    await expect(l.consume('k', { cost: Number.NaN })).rejects.toThrow(/cost/)
    await expect(l.consume('k', { limit: 0 })).rejects.toThrow(/limit/)
    await expect(l.block('k', -5)).rejects.toThrow(/ms/)
    expect((await l.peek('k')).remaining).toBe(2)
  })
}
