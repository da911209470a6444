// Per-call options (`queue.add(name, data, opts)`, `router.route(key, opts)`) sit on hot
// paths, where zod is too slow; these checks cost a typeof and a loop over the keys given.
import { closestKey } from './closest-key.js'
import { describeValue } from './validate.js'

/**
 * The expected type of one per-call option, as the error shows it. `'boolean'`,
 * `'string'`, `'number'` and `'function'` are also enforced with `typeof` (for a value
 * other than undefined); any other text is shown as it is and the caller checks the value.
 */
export type CallOptionType = 'boolean' | 'string' | 'number' | 'function' | (string & {})

/** Throws unless `options` is undefined or a plain object of the known keys (see {@link createCallOptionsCheck}). */
export type CallOptionsCheck = (options: unknown) => void

const TYPEOF_CHECKED: ReadonlySet<string> = new Set(['boolean', 'string', 'number', 'function'])

/**
 * Makes the check of one call's options: `undefined` or an object whose keys are all in
 * `shape`, each of the `typeof` it names. Errors name the call, the option and the shape:
 * `Invalid route options: expected undefined or { write?: boolean, session?: string } (received 3600)`,
 * `Invalid route option "writ": unknown option; did you mean "write"? (expected { write?: boolean, ... })`.
 *
 * @example
 * const checkRouteOptions = createCallOptionsCheck('route', { write: 'boolean', session: 'string' })
 * route(key, opts) { if (opts !== undefined) checkRouteOptions(opts); ... }
 */
export function createCallOptionsCheck(
  call: string,
  shape: Readonly<Record<string, CallOptionType>>,
): CallOptionsCheck {
  const keys = Object.keys(shape)
  // Parallel arrays scanned by identity: a property key from for-in is an internalized
  // string, so each comparison is a pointer check. A lookup table keyed by the option name
  // (a null-prototype object or a Map) measured about twice the cost.
  const types = keys.map((key) => (TYPEOF_CHECKED.has(shape[key]!) ? shape[key]! : ''))
  const count = keys.length
  const expected = `{ ${keys.map((key) => `${key}?: ${shape[key]}`).join(', ')} }`

  return (options) => {
    if (options === undefined) return
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new TypeError(
        `Invalid ${call} options: expected undefined or ${expected} (received ${describeValue(options)})`,
      )
    }
    for (const key in options) {
      let i = 0
      while (i < count && keys[i] !== key) i++
      if (i === count) {
        const suggestion = closestKey(key, keys)
        const hint = suggestion === undefined ? '' : `; did you mean "${suggestion}"?`
        throw new TypeError(`Invalid ${call} option "${key}": unknown option${hint} (expected ${expected})`)
      }
      const type = types[i]!
      if (type === '') continue
      const value = (options as Record<string, unknown>)[key]
      if (value !== undefined && typeof value !== type) {
        throw new TypeError(
          `Invalid ${call} option "${key}": expected ${type} (received ${describeValue(value)})`,
        )
      }
    }
  }
}
