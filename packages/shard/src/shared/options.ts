// What every options schema of the package is built from, and the compile-time tie
// between a schema and the documented options interface it validates.
import type { Clock, Logger } from '@headroom/core'
import { z } from 'zod'

/** The keys one type has and the other lacks (never when both have the same keys). */
type KeyDifference<A, B> = Exclude<keyof A, keyof B> | Exclude<keyof B, keyof A>

/**
 * Ties a schema to its options: its parsed value must be a `Resolved` (the options with
 * their defaults), what it accepts must be an `Options`, and both must have exactly the
 * same keys, so an option added to the interface and not to the schema (or the reverse)
 * fails to compile. The schema is returned as it is.
 *
 * @example
 * export const fooSchema = optionsSchema<FooOptions, ResolvedFooOptions>()(z.object({ ... }))
 */
export function optionsSchema<Options, Resolved>() {
  return <S extends z.ZodType<Resolved, Options>>(
    schema: S &
      ([KeyDifference<z.input<S>, Options>] extends [never]
        ? unknown
        : { missingOrExtraKey: KeyDifference<z.input<S>, Options> }),
  ): S => schema
}

/** A function-valued option. */
export const fnSchema = <F extends (...args: never[]) => unknown>() =>
  z.custom<F>((v) => typeof v === 'function', 'expected a function')

/** An object-valued option (a clock, a logger). */
const isObject = (v: unknown) => typeof v === 'object' && v !== null
export const clockSchema = z.custom<Clock>(isObject, 'expected an object')
export const loggerSchema = z.custom<Logger>(isObject, 'expected an object')
