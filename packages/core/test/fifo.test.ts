import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Fifo } from '../src/data/fifo.js'

describe('Fifo', () => {
  it('behaves like an array used as a queue, through compactions', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer(), fc.constant('shift' as const)), { maxLength: 5_000 }),
        (ops) => {
          const fifo = new Fifo<number>()
          const model: number[] = []
          for (const op of ops) {
            if (op === 'shift') expect(fifo.shift()).toBe(model.shift())
            else {
              fifo.push(op)
              model.push(op)
            }
            expect(fifo.length).toBe(model.length)
            expect(fifo.peek()).toBe(model[0])
          }
          expect(fifo.clear()).toEqual(model)
          expect(fifo.length).toBe(0)
        },
      ),
      { numRuns: 50 },
    )
  })

  it('compacts a long-lived queue instead of growing forever', () => {
    const fifo = new Fifo<number>()
    for (let i = 0; i < 100_000; i++) {
      fifo.push(i)
      fifo.push(i)
      fifo.shift()
    }
    expect(fifo.length).toBe(100_000)
    expect(fifo.shift()).toBe(50_000)
  })
})
