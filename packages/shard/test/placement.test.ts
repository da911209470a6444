import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { addShard } from '../src/placement/add-shard.js'
import { apportion } from '../src/placement/apportion.js'
import { buildPlacement } from '../src/placement/build-placement.js'
import { decodeLayout, encodeLayout } from '../src/placement/layout.js'
import type { Placement, PlacementShard } from '../src/placement/placement.js'
import { nextPlacement, optimalMovedFraction } from '../src/placement/plan.js'
import { removeShards } from '../src/placement/remove-shards.js'
import { reweight } from '../src/placement/reweight.js'

/** Small tables keep each property run fast; the algorithm does not depend on the size. */
const L = 8192

const shardsOf = (n: number, prefix = 'db'): PlacementShard[] =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, weight: 1 }))

function ownerIds(p: Placement): string[] {
  return Array.from(p.owners, (slot) => p.shards[slot]!.id)
}

function movedFraction(a: Placement, b: Placement): number {
  const before = ownerIds(a)
  const after = ownerIds(b)
  let moved = 0
  for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) moved++
  return moved / before.length
}

/** Internal consistency: lists and owners describe the same table (plain loops: expect() per item is slow). */
function checkConsistent(p: Placement): void {
  let total = 0
  let wrongOwner = 0
  let unsorted = 0
  p.lists.forEach((list, slot) => {
    total += list.length
    for (const b of list) if (p.owners[b] !== slot) wrongOwner++
    for (let i = 1; i < list.length; i++) if (p.priority[list[i - 1]!]! >= p.priority[list[i]!]!) unsorted++
  })
  expect({ total, wrongOwner, unsorted }).toEqual({ total: p.logicalShards, wrongOwner: 0, unsorted: 0 })
}

/** Logical shards whose owner changed to something other than `allowed(from, to)` permits. */
function badMoves(a: Placement, b: Placement, allowed: (from: string, to: string) => boolean): number {
  const before = ownerIds(a)
  const after = ownerIds(b)
  let bad = 0
  for (let i = 0; i < before.length; i++) if (before[i] !== after[i] && !allowed(before[i]!, after[i]!)) bad++
  return bad
}

describe('placement', () => {
  it('appending a shard to the list is exactly adding it to the placement', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 1000 }), (n, seed) => {
        const shards = shardsOf(n + 1)
        const incremental = addShard(buildPlacement(shards.slice(0, n), L, seed), shards[n]!)
        const fresh = buildPlacement(shards, L, seed)
        expect(Array.from(incremental.owners)).toEqual(Array.from(fresh.owners))
        checkConsistent(incremental)
      }),
      { numRuns: 30 },
    )
  })

  it('adding one of N shards moves at most 1.02x the optimal 1/N, all of it to the newcomer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 1 << 20 }), (n, seed) => {
        const before = buildPlacement(shardsOf(n), L, seed)
        const after = addShard(before, { id: 'new', weight: 1 })
        const optimal = 1 / (n + 1)
        expect(movedFraction(before, after)).toBeLessThanOrEqual(optimal * 1.02)
        expect(badMoves(before, after, (_, to) => to === 'new')).toBe(0)
      }),
      { numRuns: 60 },
    )
  })

  it('removing one of N shards moves at most 1.02x the optimal 1/N, only its keys, none between survivors', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: 64 })
          .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }))),
        fc.integer({ min: 0, max: 1 << 20 }),
        ([n, victim], seed) => {
          const before = buildPlacement(shardsOf(n), L, seed)
          const after = removeShards(before, new Set([`db-${victim}`]))
          expect(movedFraction(before, after)).toBeLessThanOrEqual((1 / n) * 1.02)
          expect(badMoves(before, after, (from) => from === `db-${victim}`)).toBe(0)
          checkConsistent(after)
        },
      ),
      { numRuns: 60 },
    )
  })

  it('the removal order does not change the result (same table, same future)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 30 }),
        fc.integer({ min: 0, max: 1 << 20 }),
        fc.array(fc.nat(), { minLength: 2, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 30, maxLength: 30 }),
        (n, seed, picks, weights) => {
          const shards = shardsOf(n).map((s, i) => ({ ...s, weight: weights[i]! }))
          const start = buildPlacement(shards, L, seed)
          const victims = [...new Set(picks.map((p) => `db-${p % n}`))].slice(0, n - 1)
          let forward = start
          for (const id of victims) forward = removeShards(forward, new Set([id]))
          let backward = start
          for (const id of [...victims].reverse()) backward = removeShards(backward, new Set([id]))
          const atOnce = removeShards(start, new Set(victims))
          expect(Array.from(forward.owners)).toEqual(Array.from(backward.owners))
          expect(Array.from(forward.owners)).toEqual(Array.from(atOnce.owners))
          expect(forward.shards.map((s) => s.id)).toEqual(atOnce.shards.map((s) => s.id))
          // The state is a function of the table, so later changes agree too.
          const next = { id: 'later', weight: 1 }
          expect(Array.from(addShard(forward, next).owners)).toEqual(
            Array.from(addShard(backward, next).owners),
          )
        },
      ),
      { numRuns: 40 },
    )
  })

  it('weights are honoured within one logical shard, and stay so as shards come and go', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 10 }),
        (weights, extra) => {
          const shards = weights.map((w, i) => ({ id: `w-${i}`, weight: w }))
          const check = (p: Placement) => {
            const total = p.shards.reduce((sum, s) => sum + s.weight, 0)
            p.shards.forEach((s, slot) => {
              expect(Math.abs(p.lists[slot]!.length - (L * s.weight) / total)).toBeLessThan(1.5)
            })
          }
          const p = buildPlacement(shards, L, 7)
          check(p)
          check(addShard(p, { id: 'extra', weight: extra }))
        },
      ),
      { numRuns: 50 },
    )
  })

  it('reweighting moves only between donors and receivers, exactly to the new quotas', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 2, maxLength: 10 }),
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 10, maxLength: 10 }),
        (weights, nextWeights) => {
          const p = buildPlacement(
            weights.map((w, i) => ({ id: `r-${i}`, weight: w })),
            L,
            3,
          )
          const next = weights.map((_, i) => nextWeights[i]!)
          const q = reweight(p, next)
          const quotas = apportion(L, next)
          expect(q.lists.map((list) => list.length)).toEqual(Array.from(quotas))
          checkConsistent(q)
          // Moved = what the growing shards had to gain: nothing gratuitous.
          const gain = q.lists.reduce(
            (sum, list, slot) => sum + Math.max(0, list.length - p.lists[slot]!.length),
            0,
          )
          expect(movedFraction(p, q)).toBeCloseTo(gain / L, 10)
        },
      ),
      { numRuns: 40 },
    )
  })

  it('a stored layout rebuilds the same placement, whatever history produced it', () => {
    let p = buildPlacement(shardsOf(12), L, 11)
    p = removeShards(p, new Set(['db-3', 'db-7']))
    p = addShard(p, { id: 'db-12', weight: 2 })
    const restored = decodeLayout(JSON.parse(JSON.stringify(encodeLayout(p))))
    expect(Array.from(restored.owners)).toEqual(Array.from(p.owners))
    expect(restored.lists.map((l) => Array.from(l))).toEqual(p.lists.map((l) => Array.from(l)))
    const next = { id: 'db-13', weight: 1 }
    expect(Array.from(addShard(restored, next).owners)).toEqual(Array.from(addShard(p, next).owners))
  })

  it('nextPlacement removes, reweights and appends; the optimal fraction is what growing shards gain', () => {
    const p = buildPlacement(shardsOf(4), L, 0)
    const next = [
      { id: 'db-0', weight: 1 },
      { id: 'db-1', weight: 1 },
      { id: 'db-3', weight: 1 },
      { id: 'db-4', weight: 1 },
    ]
    const q = nextPlacement(p, next)
    expect(q.shards.map((s) => s.id)).toEqual(['db-0', 'db-1', 'db-3', 'db-4'])
    expect(optimalMovedFraction(p.shards, q.shards)).toBeCloseTo(0.25, 10)
    expect(movedFraction(p, q)).toBeLessThanOrEqual(0.25 * 1.02 + 0.25)
  })
})
