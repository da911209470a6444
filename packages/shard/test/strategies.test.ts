import { describe, expect, it } from 'vitest'
import {
  compositeStrategy,
  createShardRouter,
  directoryStrategy,
  isNoShardError,
  rangeStrategy,
  UnknownShardError,
  UnsupportedOperationError,
} from '../src/index.js'

const quarters = ['2025q1', '2025q2', '2025q3', '2025q4'].map((id) => ({ id, primary: `pg-${id}` }))

describe('rangeStrategy', () => {
  const strategy = rangeStrategy({
    ranges: [
      { from: '2025-04-01T00:00:00Z', shard: '2025q2' },
      { from: '2025-01-01T00:00:00Z', shard: '2025q1' },
      { from: '2025-07-01T00:00:00Z', shard: '2025q3' },
      { from: '2025-10-01T00:00:00Z', to: '2026-01-01T00:00:00Z', shard: '2025q4' },
    ],
  })
  const router = createShardRouter({ shards: quarters, strategy })

  it('routes dates, timestamps and ISO strings to the range holding them; bounds are [from, to)', () => {
    expect(router.shardFor(new Date('2025-01-01T00:00:00Z')).id).toBe('2025q1')
    expect(router.shardFor(new Date('2025-03-31T23:59:59.999Z')).id).toBe('2025q1')
    expect(router.shardFor(Date.parse('2025-04-01T00:00:00Z')).id).toBe('2025q2')
    expect(router.shardFor('2025-08-15').id).toBe('2025q3')
    expect(router.shardFor('2025-12-31T23:59:59Z').id).toBe('2025q4')
    expect(router.route('2025-05-05', { write: true }).target).toBe('pg-2025q2')
  })

  it('a key outside every range throws NoShardError, or goes to the fallback', () => {
    let error: unknown
    try {
      router.shardFor('2026-01-01T00:00:00Z')
    } catch (e) {
      error = e
    }
    expect(isNoShardError(error)).toBe(true)
    expect(() => router.shardFor('2024-12-31')).toThrow(/No range holds/)
    const withFallback = createShardRouter({
      shards: quarters,
      strategy: rangeStrategy({ ranges: [{ from: 0, to: 10, shard: '2025q1' }], fallback: '2025q4' }),
    })
    expect(withFallback.shardFor(5).id).toBe('2025q1')
    expect(withFallback.shardFor(10).id).toBe('2025q4')
  })

  it('refuses overlapping ranges, inverted bounds, bad dates and unknown shards', () => {
    expect(() =>
      rangeStrategy({
        ranges: [
          { from: 0, to: 10, shard: 'a' },
          { from: 5, shard: 'b' },
        ],
      }),
    ).toThrow(/overlaps/)
    expect(() => rangeStrategy({ ranges: [{ from: 10, to: 5, shard: 'a' }] })).toThrow(/"ranges.0.to"/)
    expect(() => rangeStrategy({ ranges: [{ from: 'not a date', shard: 'a' }] })).toThrow(/"ranges.0.from"/)
    expect(() => rangeStrategy({ ranges: [] })).toThrow(/at least one range/)
    expect(() =>
      createShardRouter({
        shards: quarters,
        strategy: rangeStrategy({ ranges: [{ from: 0, shard: 'nope' }] }),
      }),
    ).toThrow(UnknownShardError)
  })

  it('topology operations need the hash strategy', () => {
    expect(() => router.plan(quarters)).toThrow(UnsupportedOperationError)
    expect(() => router.addShard({ id: 'x', primary: 'y' })).toThrow(
      /needs the hash strategy; this router uses "range"/,
    )
    expect(() => router.layout()).toThrow(UnsupportedOperationError)
    expect(router.stats().strategy).toBe('range')
  })
})

describe('directoryStrategy', () => {
  const shards = [
    { id: 'eu', primary: 'pg-eu' },
    { id: 'us', primary: 'pg-us' },
  ]

  it('routes by explicit entries, with a fallback', () => {
    const router = createShardRouter({
      shards,
      strategy: directoryStrategy({ entries: { fr: 'eu', de: 'eu', ca: 'us' }, fallback: 'us' }),
    })
    expect(router.shardFor('fr').id).toBe('eu')
    expect(router.shardFor('ca').id).toBe('us')
    expect(router.shardFor('jp').id).toBe('us')
  })

  it('accepts a Map and a key extractor; a missing entry without fallback throws', () => {
    const router = createShardRouter<string, { region: string }>({
      shards,
      strategy: directoryStrategy<{ region: string }>({
        entries: new Map([['eu-west', 'eu']]),
        keyOf: (k) => k.region,
      }),
    })
    expect(router.shardFor({ region: 'eu-west' }).id).toBe('eu')
    expect(() => router.shardFor({ region: 'mars' })).toThrow(/no entry for "mars"/)
  })

  it('refuses entries naming unknown shards', () => {
    expect(() =>
      createShardRouter({ shards, strategy: directoryStrategy({ entries: { fr: 'asia' } }) }),
    ).toThrow(/directoryStrategy entry "fr" names shard "asia"/)
  })
})

describe('compositeStrategy', () => {
  type Key = { region: string; userId: string }
  const shards = ['eu-1', 'eu-2', 'eu-3', 'us-1', 'us-2'].map((id) => ({ id, primary: `pg-${id}` }))
  const strategy = compositeStrategy<Key>({
    group: (k) => k.region,
    hashKey: (k) => k.userId,
    groups: { eu: ['eu-1', 'eu-2', 'eu-3'], us: ['us-1', 'us-2'] },
  })

  it('keeps each key in its region and spreads it evenly within', () => {
    const router = createShardRouter<string, Key>({ shards, strategy })
    const counts = new Map<string, number>()
    for (let i = 0; i < 30_000; i++) {
      const id = router.shardFor({ region: 'eu', userId: String(i) }).id
      counts.set(id, (counts.get(id) ?? 0) + 1)
    }
    expect([...counts.keys()].sort()).toEqual(['eu-1', 'eu-2', 'eu-3'])
    for (const n of counts.values()) expect(n / 10_000).toBeGreaterThan(0.95)
    expect(router.shardFor({ region: 'us', userId: '7' }).id).toMatch(/^us-/)
    // Deterministic across instances.
    const again = createShardRouter<string, Key>({ shards, strategy })
    for (let i = 0; i < 200; i++)
      expect(again.shardFor({ region: 'us', userId: String(i) }).id).toBe(
        router.shardFor({ region: 'us', userId: String(i) }).id,
      )
  })

  it('an unknown group throws, or uses the fallback group', () => {
    const router = createShardRouter<string, Key>({ shards, strategy })
    expect(() => router.shardFor({ region: 'apac', userId: '1' })).toThrow(/no group "apac"/)
    const withFallback = createShardRouter<string, Key>({
      shards,
      strategy: compositeStrategy<Key>({
        group: (k) => k.region,
        hashKey: (k) => k.userId,
        groups: { eu: ['eu-1'], us: ['us-1', 'us-2'] },
        fallback: 'us',
      }),
    })
    expect(withFallback.shardFor({ region: 'apac', userId: '1' }).id).toMatch(/^us-/)
  })

  it('refuses empty groups, unknown shards and an unknown fallback', () => {
    const base = { group: (k: Key) => k.region, hashKey: (k: Key) => k.userId }
    expect(() =>
      createShardRouter({ shards, strategy: compositeStrategy({ ...base, groups: { eu: [] } }) }),
    ).toThrow(/"groups.eu": expected at least one shard/)
    expect(() =>
      createShardRouter({ shards, strategy: compositeStrategy({ ...base, groups: { eu: ['zz'] } }) }),
    ).toThrow(UnknownShardError)
    expect(() =>
      createShardRouter({
        shards,
        strategy: compositeStrategy({ ...base, groups: { eu: ['eu-1'] }, fallback: 'x' }),
      }),
    ).toThrow(/"fallback"/)
  })
})
