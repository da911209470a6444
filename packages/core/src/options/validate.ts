import type { z } from 'zod'
import { unknownKeyHint } from './closest-key.js'
import { findUnknownKey } from './unknown-keys.js'

/**
 * Validates a component's options once, at construction. On failure it throws a
 * `TypeError` that names the component, the option's path and the value received,
 * e.g. `Invalid createCache option "l1.max": expected a positive integer (received -5)`.
 *
 * Unknown keys are refused at every nesting level of the schema, so a misspelt option
 * fails here instead of silently taking its default:
 * `Invalid createCache option "gracee": unknown option; did you mean "grace"?`.
 * Records and objects declared open (`z.looseObject`) take any key, and values that are
 * not plain objects (clients, loggers, class instances) are never enumerated.
 *
 * @example
 * const options = parseOptions('createCache', cacheOptionsSchema, input)
 */
export function parseOptions<Schema extends z.ZodType>(
  component: string,
  schema: Schema,
  input: unknown,
): z.output<Schema> {
  // Unknown keys first: a misspelt key often also leaves a required option missing, and
  // the typo is the error worth reading.
  const unknown = findUnknownKey(schema, input)
  if (unknown) {
    const key = String(unknown.path.at(-1))
    throw new TypeError(
      `Invalid ${component} option "${unknown.path.join('.')}": ${unknownKeyHint(key, unknown.known)}`,
    )
  }
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  if (issue.code === 'unrecognized_keys') {
    // A strict object in a union with several object members, none of which accepted the
    // value: the walk could not tell which member was meant, zod can name the key.
    const path = [...issue.path, issue.keys[0]!].map(String).join('.')
    throw new TypeError(`Invalid ${component} option "${path}": unknown option`, { cause: result.error })
  }
  const path = issue.path.map(String).join('.')
  const received = describeValue(valueAt(input, issue.path))
  const where = path ? ` "${path}"` : ''
  throw new TypeError(
    `Invalid ${component} option${where}: ${lowerFirst(issue.message)} (received ${received})`,
    {
      cause: result.error,
    },
  )
}

/**
 * Ties a documented options interface to its zod schema at compile time: `true` when the
 * schema's input has exactly the interface's keys and accepts every value the interface
 * allows; otherwise an object type saying what differs. `true satisfies
 * OptionsSchemaMatch<...>` fails to compile the moment a key is added to one side only,
 * or the schema narrows a key's type, so a program that type-checks is never refused an
 * option it was allowed to write. (A schema may be looser than its interface: a
 * `z.preprocess` step takes `unknown`.)
 *
 * @example
 * const schema = z.object({ max: z.number().default(100) })
 * true satisfies OptionsSchemaMatch<typeof schema, CacheOptions>
 */
export type OptionsSchemaMatch<Schema extends z.ZodType, Options> = [
  Exclude<keyof z.input<Schema>, keyof Options>,
  Exclude<keyof Options, keyof z.input<Schema>>,
] extends [never, never]
  ? [WritableArrays<Options>] extends [z.input<Schema>]
    ? true
    : { schemaRefusesAValueTheInterfaceAllows: Options }
  : {
      onlyInSchema: Exclude<keyof z.input<Schema>, keyof Options>
      onlyInInterface: Exclude<keyof Options, keyof z.input<Schema>>
    }

/** An interface's `readonly T[]` options as zod types arrays (`T[]`); zod accepts either. */
type WritableArrays<Options> = { [K in keyof Options]: WritableArray<Options[K]> }
type WritableArray<Value> = Value extends readonly (infer Item)[] ? Item[] : Value

/**
 * The same tie as {@link OptionsSchemaMatch}, at the schema's declaration: returns the
 * schema unchanged, and compiles only when it matches `Options`.
 *
 * @example
 * const shedPolicySchema = tiedTo<ShedPolicy>()(z.strictObject({ degraded: ..., critical: ... }))
 */
export function tiedTo<Options>() {
  return <Schema extends z.ZodType>(
    schema: Schema &
      (OptionsSchemaMatch<Schema, Options> extends true ? unknown : OptionsSchemaMatch<Schema, Options>),
  ): Schema => schema
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<PropertyKey, unknown>)[key]
  }
  return value
}

/** A short, safe rendering of a received value for an error message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'symbol') return value.toString()
  if (Number.isNaN(value)) return 'NaN'
  // JSON would render both as null.
  if (value === Number.POSITIVE_INFINITY || value === Number.NEGATIVE_INFINITY) return String(value)
  try {
    const json = JSON.stringify(value)
    if (json === undefined) return String(value)
    return json.length > 80 ? `${json.slice(0, 77)}...` : json
  } catch {
    return Object.prototype.toString.call(value)
  }
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1)
}
