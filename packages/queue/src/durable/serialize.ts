import { SerializationError } from '@headroom/core'

/**
 * JSON-encodes job data, refusing what JSON would silently drop or mangle
 * (functions, symbols, `undefined` values, BigInt, Map/Set, NaN/Infinity, cycles),
 * with an error that names the path: a job's data must survive the trip through
 * Redis to another process unchanged.
 */
export function serializeData(data: unknown, job: string): string {
  const seen = new Set<object>()
  const check = (value: unknown, path: string): void => {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return
      case 'number':
        if (!Number.isFinite(value)) fail(path, String(value))
        return
      case 'object': {
        if (value === null) return
        if (seen.has(value)) fail(path, 'a circular reference')
        if (value instanceof Date) return
        if (
          value instanceof Map ||
          value instanceof Set ||
          value instanceof WeakMap ||
          value instanceof WeakSet
        ) {
          fail(path, `a ${value.constructor.name}`)
        }
        const proto = Object.getPrototypeOf(value)
        if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) {
          fail(path, `an instance of ${(value as object).constructor?.name ?? 'a class'}`)
        }
        seen.add(value)
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i++) check(value[i], `${path}[${i}]`)
        } else
          for (const key of Object.keys(value))
            check((value as Record<string, unknown>)[key], `${path}.${key}`)
        seen.delete(value)
        return
      }
      default:
        fail(path, typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`)
    }
  }
  const fail = (path: string, what: string): never => {
    throw new SerializationError(
      `Job "${job}": data${path} is ${what}, which cannot be stored as JSON; pass plain objects, arrays, strings, finite numbers, booleans or null`,
    )
  }
  if (data === undefined) return 'null'
  check(data, '')
  return JSON.stringify(data)
}
