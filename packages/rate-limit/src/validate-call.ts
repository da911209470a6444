import type { ConsumeOptions } from './rate-limiter-types.js'

/** Why a call's arguments are invalid, or undefined when they are fine (callers prefix the method's name). */
export function validateCall(key: unknown, opts: ConsumeOptions | undefined): string | undefined {
  if (typeof key !== 'string' || key.length === 0)
    return `Expected the key to be a non-empty string (received ${JSON.stringify(key)})`
  if (opts !== undefined) {
    const { cost, limit } = opts
    if (cost !== undefined && !(typeof cost === 'number' && cost >= 0 && Number.isFinite(cost)))
      return `Expected "cost" to be a finite number >= 0 (received ${String(cost)})`
    if (limit !== undefined && !(typeof limit === 'number' && limit > 0 && Number.isFinite(limit)))
      return `Expected "limit" to be a finite number > 0 (received ${String(limit)})`
  }
  return undefined
}
