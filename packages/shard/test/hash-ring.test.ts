import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createHashRing } from '../src/index.js'

const keys = Array.from({ length: 3000 }, (_, i) => `session:${i}`)
const ids = (n: number) => Array.from({ length: n }, (_, i) => `cache-${i}`)

describe('createHashRing (direct consistent-hash mode)', () => {
  it('is a pure function of the node set, whatever the join/leave history', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 0, max: 1000 }), (n, shuffleSeed) => {
        const nodes = ids(n)
        const direct = createHashRing({ nodes, logicalShards: 4096 })
        const rotated = [...nodes.slice(shuffleSeed % n), ...nodes.slice(0, shuffleSeed % n)]
        const grown = createHashRing({ nodes: [rotated[0]!, 'temp'], logicalShards: 4096 })
        for (const id of rotated.slice(1)) grown.add(id)
        grown.remove('temp')
        for (const key of keys.slice(0, 500)) expect(grown.get(key)).toBe(direct.get(key))
      }),
      { numRuns: 25 },
    )
  })

  it('adding or removing a node moves only its keys', () => {
    const ring = createHashRing({ nodes: ids(8) })
    const before = keys.map((k) => ring.get(k))
    ring.add('cache-8')
    keys.forEach((k, i) => {
      const now = ring.get(k)
      if (now !== before[i]) expect(now).toBe('cache-8')
    })
    const mid = keys.map((k) => ring.get(k))
    ring.remove('cache-3')
    keys.forEach((k, i) => {
      if (mid[i] !== 'cache-3') expect(ring.get(k)).toBe(mid[i])
    })
    expect(ring.has('cache-3')).toBe(false)
  })

  it('honours weights statistically and balances equal nodes', () => {
    const ring = createHashRing({ nodes: [{ id: 'big', weight: 3 }, 'small-1', 'small-2', 'small-3'] })
    const d = ring.distribution()
    expect(d.big! / 65536).toBeCloseTo(0.5, 1)
    const equal = createHashRing({ nodes: ids(16) })
    const counts = Object.values(equal.distribution())
    expect(Math.max(...counts) / (65536 / 16)).toBeLessThan(1.1)
  })

  it('changing a weight re-places keys; the result equals a fresh ring', () => {
    const ring = createHashRing({ nodes: ['a', 'b', 'c'], logicalShards: 4096 })
    ring.add({ id: 'b', weight: 2 })
    const fresh = createHashRing({ nodes: ['a', { id: 'b', weight: 2 }, 'c'], logicalShards: 4096 })
    for (const key of keys) expect(ring.get(key)).toBe(fresh.get(key))
  })

  it('refuses bad input', () => {
    expect(() => createHashRing({ nodes: [] })).toThrow(/"nodes": expected at least one node/)
    expect(() => createHashRing({ nodes: ['a', 'a'] })).toThrow(/duplicate node "a"/)
    expect(() => createHashRing({ nodes: [{ id: 'a', weight: 0 }] })).toThrow(/weight above 0/)
    const ring = createHashRing({ nodes: ['a'] })
    expect(() => ring.remove('b')).toThrow(/no node "b"/)
    expect(() => ring.remove('a')).toThrow(/last node/)
    expect(() => ring.add({ id: '', weight: 1 })).toThrow(/non-empty id/)
  })
})
