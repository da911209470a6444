import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { childLogger, silentLogger } from '../src/logger.js'
import { describeValue, type OptionsSchemaMatch, parseOptions, tiedTo } from '../src/options/validate.js'

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

describe('parseOptions refuses unknown keys', () => {
  class RedisLike {
    status = 'ready'
    extra = 1
    get() {}
  }
  const cacheLike = z.object({
    redis: z.custom<RedisLike>((v) => typeof v === 'object' && v !== null).optional(),
    prefix: z.string(),
    grace: z.number().default(0),
    l1: z.object({ max: z.number().default(10), maxSize: z.number().optional() }).default({ max: 10 }),
    lock: z
      .union([z.boolean(), z.object({ leaseMs: z.number().default(5000), waitMs: z.number().default(5000) })])
      .default(false),
    tiers: z.record(z.string(), z.number()).default({}),
    policies: z.array(z.object({ limit: z.number(), window: z.number() })).optional(),
    checks: z
      .record(
        z.string(),
        z.union([z.custom<() => void>((v) => typeof v === 'function'), z.object({ timeoutMs: z.number() })]),
      )
      .default({}),
    tuning: z.looseObject({ name: z.string() }).optional(),
    nested: z.object({ inner: z.object({ deep: z.number() }).nullable().optional() }).optional(),
    piped: z
      .object({ ms: z.number() })
      .transform((v) => v.ms)
      .optional(),
    logger: z.custom<object>((v) => typeof v === 'object' && v !== null).optional(),
  })
  const fails = (input: unknown) => () => parseOptions('createCache', cacheLike, input)

  it('names a top-level unknown key and suggests the closest known one', () => {
    expect(fails({ prefix: 'c', gracee: 1000 })).toThrowError(
      new TypeError('Invalid createCache option "gracee": unknown option; did you mean "grace"?'),
    )
  })

  it('names the path of an unknown key at every nesting level', () => {
    expect(fails({ prefix: 'c', l1: { maxx: 5 } })).toThrow(
      'Invalid createCache option "l1.maxx": unknown option; did you mean "max"?',
    )
    expect(fails({ prefix: 'c', lock: { leaseMs: 100, waitMss: 5 } })).toThrow(
      'Invalid createCache option "lock.waitMss": unknown option; did you mean "waitMs"?',
    )
    expect(
      fails({
        prefix: 'c',
        policies: [
          { limit: 1, window: 1 },
          { limit: 1, window: 1, burts: 2 },
        ],
      }),
    ).toThrow('Invalid createCache option "policies.1.burts": unknown option')
    expect(fails({ prefix: 'c', checks: { db: { timeoutMs: 1, timout: 2 } } })).toThrow(
      'Invalid createCache option "checks.db.timout": unknown option; did you mean "timeoutMs"?',
    )
    expect(fails({ prefix: 'c', nested: { inner: { deep: 1, deeper: 2 } } })).toThrow(
      'Invalid createCache option "nested.inner.deeper"',
    )
    expect(fails({ prefix: 'c', piped: { ms: 1, sec: 2 } })).toThrow('Invalid createCache option "piped.sec"')
  })

  it('lists the known keys when none is close', () => {
    expect(fails({ prefix: 'c', l1: { max: 1, zzzzzz: true } })).toThrow(
      'Invalid createCache option "l1.zzzzzz": unknown option (known: max, maxSize)',
    )
  })

  it('refuses an unknown key even when its value is undefined', () => {
    expect(fails({ prefix: 'c', gracee: undefined })).toThrow('"gracee": unknown option')
  })

  it('reports the unknown key before a required option its typo left missing', () => {
    expect(fails({ prefx: 'c' })).toThrow(
      'Invalid createCache option "prefx": unknown option; did you mean "prefix"?',
    )
  })

  it('keeps records, open objects and custom values (class instances) open', () => {
    const logger = { info() {}, child() {}, level: 'info', anything: 1 }
    const parsed = parseOptions('createCache', cacheLike, {
      prefix: 'c',
      redis: new RedisLike(),
      logger,
      tiers: { 'content:': 1000, 'user:': 5 },
      checks: { db: () => {} },
      tuning: { name: 'x', alpha: 2 },
      nested: { inner: null },
      lock: true,
    })
    expect(parsed.redis).toBeInstanceOf(RedisLike)
    expect(parsed.logger).toBe(logger)
    expect(parsed.tuning).toEqual({ name: 'x', alpha: 2 })
  })

  it('never walks a class instance, even where a plain object schema stands', () => {
    class L1Settings {
      max = 5
      internal = true
    }
    expect(() => parseOptions('createCache', cacheLike, { prefix: 'c', l1: new L1Settings() })).not.toThrow()
  })

  it('words the unknown keys of a strict object the same way', () => {
    const strict = z.object({ mode: z.union([z.literal('off'), z.strictObject({ every: z.number() })]) })
    expect(() => parseOptions('createThing', strict, { mode: { every: 1, evry: 2 } })).toThrow(
      'Invalid createThing option "mode.evry": unknown option; did you mean "every"?',
    )
  })
})

describe('parseOptions with a union of several strict objects', () => {
  it('names the unknown key zod reports', () => {
    const schema = z.object({
      sink: z.union([z.strictObject({ url: z.string() }), z.strictObject({ file: z.string() })]),
    })
    expect(() => parseOptions('createThing', schema, { sink: { url: 'x', retries: 2 } })).toThrow(
      'Invalid createThing option "sink.retries": unknown option',
    )
  })
})

describe('OptionsSchemaMatch and tiedTo (checked by pnpm typecheck)', () => {
  interface ThingOptions {
    /** @default 10 */
    max?: number
    name: string
  }
  const thingSchema = z.object({ max: z.number().int().default(10), name: z.string() })

  it('accept a schema with the interface keys that takes every value the interface allows', () => {
    true satisfies OptionsSchemaMatch<typeof thingSchema, ThingOptions>
    expect(tiedTo<ThingOptions>()(thingSchema)).toBe(thingSchema)
  })

  it('refuse a key on one side only, and a schema narrower than the interface', () => {
    const extraKey = z.object({ max: z.number().optional(), name: z.string(), min: z.number().optional() })
    const missingKey = z.object({ name: z.string() })
    const narrower = z.object({ max: z.literal(10).optional(), name: z.string() })
    // @ts-expect-error: `min` is not an option of ThingOptions
    true satisfies OptionsSchemaMatch<typeof extraKey, ThingOptions>
    // @ts-expect-error: `max` is missing from the schema
    true satisfies OptionsSchemaMatch<typeof missingKey, ThingOptions>
    // @ts-expect-error: the schema refuses a max the interface allows
    true satisfies OptionsSchemaMatch<typeof narrower, ThingOptions>
    // @ts-expect-error: the same at the declaration
    tiedTo<ThingOptions>()(narrower)
    expect(parseOptions('thing', narrower, { max: 10, name: 'a' })).toEqual({ max: 10, name: 'a' })
  })
})
