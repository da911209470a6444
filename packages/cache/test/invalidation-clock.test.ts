import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InvalidationClock } from '../src/loading/invalidation-clock.js'

describe('InvalidationClock', () => {
  it('spoils a load only when one of its tags was invalidated after it started', () => {
    const clock = new InvalidationClock()
    const start = clock.generation
    clock.invalidateTags(['a'])
    expect(clock.spoils(start, ['a'])).toBe(true)
    expect(clock.spoils(start, ['b', 'a'])).toBe(true)
    expect(clock.spoils(start, ['b'])).toBe(false)
    expect(clock.spoils(start, undefined)).toBe(false)
    // A load that started after the invalidation is not spoiled by it.
    expect(clock.spoils(clock.generation, ['a'])).toBe(false)
  })

  it('a flush spoils every load that started before it', () => {
    const clock = new InvalidationClock()
    const start = clock.generation
    clock.flush()
    expect(clock.spoils(start, undefined)).toBe(true)
    expect(clock.spoils(start, ['x'])).toBe(true)
    expect(clock.spoils(clock.generation, undefined)).toBe(false)
  })

  it('forgetting tags past its bound never lets a spoiled load through', () => {
    // Model: the exact answer keeps every invalidation; the clock may say "spoiled" more
    // often (after forgetting), never less.
    const op = fc.oneof(
      fc.record({ kind: fc.constant('start' as const) }),
      fc.record({ kind: fc.constant('flush' as const) }),
      fc.record({
        kind: fc.constant('invalidate' as const),
        tags: fc.array(fc.integer({ min: 0, max: 30 }).map(String), { minLength: 1, maxLength: 4 }),
      }),
    )
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 200 }),
        fc.array(fc.integer({ min: 0, max: 30 }).map(String)),
        (ops, probe) => {
          const clock = new InvalidationClock(8)
          const history: { at: number; tags?: string[] }[] = []
          const starts: number[] = [clock.generation]
          for (const step of ops) {
            if (step.kind === 'start') starts.push(clock.generation)
            else if (step.kind === 'flush') {
              clock.flush()
              history.push({ at: clock.generation })
            } else {
              clock.invalidateTags(step.tags)
              history.push({ at: clock.generation, tags: step.tags })
            }
          }
          for (const start of starts) {
            const exact = history.some(
              (h) => h.at > start && (h.tags === undefined || h.tags.some((tag) => probe.includes(tag))),
            )
            if (exact) expect(clock.spoils(start, probe)).toBe(true)
          }
        },
      ),
    )
  })
})
