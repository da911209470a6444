// The option schema of an algorithm spec (`'vegas'` or `{ name: 'vegas', ...tuning }`),
// shared by the limiter's and the sizer's options.
import { z } from 'zod'
import { functionSchema, numberIn, positiveInt } from '../shared/schema.js'
import type { LimitAlgorithmSpec } from './limit-algorithm.js'

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
