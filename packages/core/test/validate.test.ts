import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { childLogger, silentLogger } from '../src/logger.js'
import { describeValue, parseOptions } from '../src/validate.js'

const schema = z.object({
  prefix: z.string().min(1),
  l1: z.object({ max: z.number().int().positive() }),
  ttl: z.number().positive().default(300_000),
})

describe('parseOptions', () => {
  it('returns the parsed options with defaults applied', () => {
    expect(parseOptions('createCache', schema, { prefix: 'c', l1: { max: 10 } })).toEqual({
      prefix: 'c',
      l1: { max: 10 },
      ttl: 300_000,
    })
  })

  it('throws a TypeError naming the component, the option path and the value received', () => {
    expect(() => parseOptions('createCache', schema, { prefix: 'c', l1: { max: -5 } })).toThrowError(
      new TypeError('Invalid createCache option "l1.max": too small: expected number to be >0 (received -5)'),
    )
    const error = (() => {
      try {
        parseOptions('createCache', schema, { prefix: '', l1: { max: 1 } })
      } catch (caught) {
        return caught as TypeError
      }
    })()
    expect(error).toBeInstanceOf(TypeError)
    expect(error?.message).toContain('"prefix"')
    expect(error?.message).toContain('(received "")')
  })

  it('names a missing option', () => {
    expect(() => parseOptions('createCache', schema, { l1: { max: 1 } })).toThrow(
      /Invalid createCache option "prefix": .*received undefined/,
    )
  })

  it('describes any value safely', () => {
    expect(describeValue(Number.NaN)).toBe('NaN')
    expect(describeValue(() => 1)).toBe('a function')
    expect(describeValue(10n)).toBe('10n')
    expect(describeValue('x'.repeat(200)).length).toBeLessThanOrEqual(80)
    const circular: Record<string, unknown> = {}
    circular.self = circular
    expect(describeValue(circular)).toBe('[object Object]')
  })
})

describe('logger', () => {
  it('is silent by default and makes children', () => {
    expect(() => silentLogger.info({ a: 1 }, 'nothing')).not.toThrow()
    expect(childLogger(undefined, { component: 'cache' })).toBe(silentLogger)
    const bindings: unknown[] = []
    const logger = {
      ...silentLogger,
      child: (b: Record<string, unknown>) => {
        bindings.push(b)
        return silentLogger
      },
    }
    childLogger(logger, { component: 'cache' })
    expect(bindings).toEqual([{ component: 'cache' }])
  })
})
