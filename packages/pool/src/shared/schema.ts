import type { Clock, Logger } from '@headroom/core'
import { z } from 'zod'
import type { LimitAlgorithmSpec } from '../algorithms/limit-algorithm.js'

/**
 * `true` when A and B have the same keys, `never` otherwise. An options schema declares
 * `const keys: SameKeys<z.input<typeof schema>, FooOptions> = true`, so a key added to
 * the interface and not the schema (or the other way) fails to compile.
 */
export type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never]
  ? true
  : never

/** zod pieces the option schemas share. */
export const positiveInt = z
  .number({ error: 'expected a number' })
  .int({ error: 'expected an integer' })
  .positive({ error: 'expected a positive integer' })

export const nonNegativeNumber = z
  .number({ error: 'expected a number' })
  .nonnegative({ error: 'expected a number >= 0' })

export const functionSchema = z.custom<(...args: never[]) => unknown>(
  (value) => typeof value === 'function',
  {
    error: 'expected a function',
  },
)

/** A function option of the given signature (checked as a function; zod cannot see its parameters). */
export const functionOf = <F extends (...args: never[]) => unknown>() =>
  z.custom<F>((value) => typeof value === 'function', { error: 'expected a function' })

/** A finite number in [min, max] (either end open when asked), with a message that says so. */
export function numberIn(
  min: number,
  max: number,
  { minOpen = false, maxOpen = false }: { minOpen?: boolean; maxOpen?: boolean } = {},
) {
  const range = `${minOpen ? '(' : '['}${min}, ${max === Number.POSITIVE_INFINITY ? 'Infinity' : max}${maxOpen ? ')' : ']'}`
  const message = `expected a finite number in ${range}`
  return z
    .number({ error: message })
    .refine(
      (value) =>
        Number.isFinite(value) &&
        (minOpen ? value > min : value >= min) &&
        (maxOpen ? value < max : value <= max),
      { error: message },
    )
}

/** A wait in ms: a number >= 0, or Infinity for no bound. */
export const waitMs = z.custom<number>((value) => typeof value === 'number' && value >= 0, {
  error: 'expected a number >= 0 (Infinity for no bound)',
})

const ALGORITHM_NAMES = ['minrtt', 'gradient2', 'vegas', 'aimd'] as const

/** Each algorithm's tuning, strict: an unknown or out-of-range field is refused, not ignored. */
const tuningSchemas: Record<(typeof ALGORITHM_NAMES)[number], z.ZodType> = {
  minrtt: z.strictObject({
    name: z.literal('minrtt'),
    tolerance: numberIn(1, 10).optional(),
    smoothing: numberIn(0, 1, { minOpen: true }).optional(),
    roundSamples: positiveInt.optional(),
    backoffRatio: numberIn(0.5, 1, { maxOpen: true }).optional(),
  }),
  gradient2: z.strictObject({
    name: z.literal('gradient2'),
    smoothing: numberIn(0, 1, { minOpen: true }).optional(),
    rttTolerance: numberIn(1, 10).optional(),
    longWindow: positiveInt.optional(),
    queueSize: z
      .union([numberIn(0, Number.POSITIVE_INFINITY), functionSchema], {
        error: 'expected a finite number >= 0 or a function of the limit',
      })
      .optional(),
  }),
  vegas: z.strictObject({
    name: z.literal('vegas'),
    smoothing: numberIn(0, 1, { minOpen: true }).optional(),
    probeMultiplier: numberIn(0, Number.POSITIVE_INFINITY, { minOpen: true }).optional(),
    alpha: functionSchema.optional(),
    beta: functionSchema.optional(),
    threshold: functionSchema.optional(),
    increase: functionSchema.optional(),
    decrease: functionSchema.optional(),
  }),
  aimd: z.strictObject({
    name: z.literal('aimd'),
    backoffRatio: numberIn(0.5, 1, { maxOpen: true }).optional(),
    timeoutMs: numberIn(0, Number.POSITIVE_INFINITY, { minOpen: true }).optional(),
  }),
}

const isAlgorithmName = (value: unknown): value is (typeof ALGORITHM_NAMES)[number] =>
  typeof value === 'string' && (ALGORITHM_NAMES as readonly string[]).includes(value)

/**
 * An algorithm by name or `{ name, ...tuning }`. The tuning is checked field by field
 * (finite, in range), so `{ name: 'gradient2', smoothing: NaN }` is refused with the field's name.
 */
export const algorithmSchema = z
  .custom<LimitAlgorithmSpec>(() => true)
  .superRefine((value, ctx) => {
    const expected = 'expected "minrtt", "gradient2", "vegas", "aimd" or { name, ...tuning }'
    if (isAlgorithmName(value)) return
    const name = typeof value === 'object' && value !== null ? (value as { name?: unknown }).name : undefined
    if (!isAlgorithmName(name)) {
      ctx.addIssue({ code: 'custom', message: expected })
      return
    }
    const result = tuningSchemas[name].safeParse(value)
    if (result.success) return
    for (const issue of result.error.issues) {
      const message =
        issue.code === 'unrecognized_keys'
          ? `unknown ${name} tuning ${issue.keys.map((key) => `"${key}"`).join(', ')}`
          : issue.message
      ctx.addIssue({ code: 'custom', message, path: issue.path })
    }
  })

export const loggerSchema = z.custom<Logger>(
  (value) =>
    typeof value === 'object' && value !== null && typeof (value as { debug?: unknown }).debug === 'function',
  { error: 'expected a pino-compatible logger' },
)

export const clockSchema = z.custom<Clock>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { now?: unknown }).now === 'function' &&
    typeof (value as { setTimeout?: unknown }).setTimeout === 'function',
  { error: 'expected a Clock ({ now, setTimeout, clearTimeout })' },
)
