import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createKeyGroups } from '../src/metrics/key-groups.js'
import type { Entry } from '../src/tiers/entry.js'
import { createL1 } from '../src/tiers/l1.js'

const TAGS = ['a', 'b', 'c', 'd']
const entry = (tags: string[]): Entry => ({
  value: 1,
  freshUntil: Number.MAX_SAFE_INTEGER,
  staleUntil: Number.MAX_SAFE_INTEGER,
  factoryMs: 0,
  tags,
})
const l1Of = (max: number) =>
  createL1({ max, maxSize: undefined, earlyRefresh: 1, groups: createKeyGroups(undefined, 1) })

type Op =
  | { op: 'set'; key: string; tags: string[] }
  | { op: 'delete'; key: string }
  | { op: 'deleteTagged'; tags: string[] }
  | { op: 'shrink'; fraction: number }
  | { op: 'clear' }

const key = fc.constantFrom('k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7')
const tags = fc.subarray(TAGS)
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('set' as const), key, tags }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), key }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('deleteTagged' as const), tags }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('shrink' as const),
      fraction: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
)

describe('L1 tag index', () => {
  it('deleteTagged removes exactly the live entries carrying a tag, through overwrites, deletes and evictions', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.integer({ min: 1, max: 6 }), (ops, max) => {
        const l1 = l1Of(max)
        const live = new Set<string>()
        for (const step of ops) {
          if (step.op === 'set') l1.store(step.key, entry(step.tags), 1)
          else if (step.op === 'delete') l1.delete(step.key)
          else if (step.op === 'shrink') l1.shrink(step.fraction)
          else if (step.op === 'clear') l1.clear()
          else {
            // The model: scan every live entry, as the index must agree with a full scan.
            const expected = [...live].filter((k) => l1.peek(k)?.tags?.some((t) => step.tags.includes(t)))
            expect(l1.deleteTagged(new Set(step.tags))).toBe(expected.length)
            for (const k of expected) expect(l1.peek(k)).toBeUndefined()
          }
          for (const k of ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']) {
            if (l1.peek(k)) live.add(k)
            else live.delete(k)
          }
          expect(l1.size).toBe(live.size)
        }
      }),
      { numRuns: 300 },
    )
  })

  it('keeps an overwritten entry indexed under its new tags only', () => {
    const l1 = l1Of(10)
    l1.store('k', entry(['a', 'b']), 1)
    l1.store('k', entry(['b', 'c']), 1)
    expect(l1.deleteTagged(new Set(['a']))).toBe(0)
    expect(l1.peek('k')).toBeDefined()
    expect(l1.deleteTagged(new Set(['c']))).toBe(1)
    expect(l1.peek('k')).toBeUndefined()
    expect(l1.deleteTagged(new Set(['b']))).toBe(0)
  })
})
