import { z } from 'zod'

/** zod pieces the option schemas share. */
export const positiveInt = z
  .number({ error: 'expected a number' })
  .int({ error: 'expected an integer' })
  .positive({ error: 'expected a positive integer' })

export const nonNegativeNumber = z
  .number({ error: 'expected a number' })
  .nonnegative({ error: 'expected a number >= 0' })

const functionSchema = z.custom<(...args: never[]) => unknown>((value) => typeof value === 'function', {
  error: 'expected a function',
})

export const algorithmSchema = z.union(
  [z.enum(['gradient2', 'vegas', 'aimd']), z.looseObject({ name: z.enum(['gradient2', 'vegas', 'aimd']) })],
  { error: 'expected "gradient2", "vegas", "aimd" or { name, ...tuning }' },
)

export const loggerSchema = z.custom<unknown>(
  (value) =>
    typeof value === 'object' && value !== null && typeof (value as { debug?: unknown }).debug === 'function',
  { error: 'expected a pino-compatible logger' },
)

export const clockSchema = z.custom<unknown>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { now?: unknown }).now === 'function' &&
    typeof (value as { setTimeout?: unknown }).setTimeout === 'function',
  { error: 'expected a Clock ({ now, setTimeout, clearTimeout })' },
)

export { functionSchema }
