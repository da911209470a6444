import type { ConsumeOptions } from './rate-limiter-types.js'

const describe = (value: unknown): string => {
  if (typeof value === 'string' || Array.isArray(value)) return JSON.stringify(value)
  return String(value)
}

/**
 * Why a call's arguments are invalid, or undefined when they are fine (callers prefix the
 * method's name). Runs on every call, so it sticks to `typeof` checks and one `for...in`
 * over the options' (at most two) keys: no schema, no allocation.
 */
export function checkCall(
  method: string,
  key: unknown,
  opts: ConsumeOptions | undefined,
): string | undefined {
  if (typeof key !== 'string' || key.length === 0)
    return `Expected the key to be a non-empty string (received ${JSON.stringify(key)})`
  if (opts !== undefined) {
    if (opts === null || typeof opts !== 'object' || Array.isArray(opts))
      return `Expected ${method}(key, { cost, limit }) with an options object (received ${describe(opts)})`
    for (const name in opts)
      if (name !== 'cost' && name !== 'limit')
        return `Unknown option "${name}": ${method}(key, { cost, limit }) takes only cost and limit`
    const { cost, limit } = opts
    if (cost !== undefined && !(typeof cost === 'number' && cost >= 0 && Number.isFinite(cost)))
      return `Expected "cost" to be a finite number >= 0 (received ${describe(cost)})`
    if (limit !== undefined && !(typeof limit === 'number' && limit > 0 && Number.isFinite(limit)))
      return `Expected "limit" to be a finite number > 0 (received ${describe(limit)})`
  }
  return undefined
}
