// A compile-time tie between an options schema and the documented options interface:
// the interface is what users read (and what the .d.ts shows), the schema is what runs.
import type { z } from 'zod'

type KeyDiff<A, B> = Exclude<keyof A, keyof B> | Exclude<keyof B, keyof A>

type Tie<Input, Options> = [KeyDiff<Input, Options>] extends [never]
  ? [Options] extends [Input]
    ? unknown
    : { 'the schema refuses a value the interface allows': never }
  : { 'the schema and the interface name different keys': KeyDiff<Input, Options> }

/**
 * Returns the schema unchanged; it compiles only when the schema's input names exactly
 * the keys of `Options` and accepts every value `Options` allows.
 *
 * @example
 * const schema = tiedTo<ShedPolicy>()(z.strictObject({ degraded: ..., critical: ... }))
 */
export function tiedTo<Options>() {
  return <Schema extends z.ZodType>(schema: Schema & Tie<z.input<Schema>, Options>): Schema => schema
}
