import type { Clock, Logger } from '@headroom/core'
import { z } from 'zod'

/** zod pieces the option schemas share. */
export const positiveInt = z
  .number({ error: 'expected a number' })
  .int({ error: 'expected an integer' })
  .positive({ error: 'expected a positive integer' })

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
