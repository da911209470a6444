// Finds the first key of an options value that its zod schema does not know, walking the
// value and the schema together. zod's plain objects strip unknown keys silently, so a
// misspelt option (`gracee`) would be dropped and its default used; walking here, once at
// construction, gives every package the same refusal without each schema opting in.
//
// The walk follows the value, not the schema: it descends only into plain objects and
// arrays the caller wrote, so a class instance (an ioredis client, a pg Pool, a logger)
// is never enumerated, whatever schema stands where it is passed. Records and objects
// declared open (`z.looseObject`, a catchall) accept any key by design. Introspection
// uses `_zod.def`, the typed definition zod documents for library authors.
import { safeParse, type z } from 'zod'

/** An unknown key: where it is, and the keys its object does know. */
export interface UnknownKey {
  path: readonly (string | number)[]
  known: readonly string[]
}

/** The first key of `value` that `schema` does not declare, or undefined. */
export function findUnknownKey(
  schema: z.core.$ZodType,
  value: unknown,
  path: readonly (string | number)[] = [],
): UnknownKey | undefined {
  const def = (schema as z.core.$ZodTypes)._zod.def
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'nonoptional':
    case 'readonly':
    case 'catch':
      return findUnknownKey(def.innerType, value, path)
    case 'pipe':
      return findUnknownKey(def.in, value, path)
    case 'lazy':
      return findUnknownKey(def.getter(), value, path)
    case 'object':
      return isPlainObject(value) ? unknownInObject(def, value, path) : undefined
    case 'record':
      if (!isPlainObject(value)) return undefined
      for (const key of Object.keys(value)) {
        const found = findUnknownKey(def.valueType, value[key], [...path, key])
        if (found) return found
      }
      return undefined
    case 'array':
      if (!Array.isArray(value)) return undefined
      for (let i = 0; i < value.length; i++) {
        const found = findUnknownKey(def.element, value[i], [...path, i])
        if (found) return found
      }
      return undefined
    case 'tuple':
      if (!Array.isArray(value)) return undefined
      for (let i = 0; i < value.length; i++) {
        const item = def.items[i] ?? def.rest
        const found = item ? findUnknownKey(item, value[i], [...path, i]) : undefined
        if (found) return found
      }
      return undefined
    case 'union':
      return unknownInUnion(def.options, value, path)
    default:
      // Scalars, custom values (functions, clients, loggers), any/unknown, maps, sets and
      // intersections hold no keys to refuse here.
      return undefined
  }
}

function unknownInObject(
  def: z.core.$ZodObjectDef,
  value: Record<string, unknown>,
  path: readonly (string | number)[],
): UnknownKey | undefined {
  const shape = def.shape
  // A catchall other than `never` (z.looseObject, .catchall(schema)) declares the object open.
  const closed = def.catchall === undefined || (def.catchall as z.core.$ZodTypes)._zod.def.type === 'never'
  for (const key of Object.keys(value)) {
    const field = Object.hasOwn(shape, key) ? shape[key] : undefined
    if (field === undefined) {
      if (closed) return { path: [...path, key], known: Object.keys(shape) }
      continue
    }
    const found = findUnknownKey(field, value[key], [...path, key])
    if (found) return found
  }
  return undefined
}

/**
 * A union is walked along the member that accepts the value. When none does (the value
 * is wrong anyway, zod reports it), a plain object is still walked along the union's only
 * object member, so a misspelt key of a strict member is named rather than "invalid input".
 */
function unknownInUnion(
  options: readonly z.core.$ZodType[],
  value: unknown,
  path: readonly (string | number)[],
): UnknownKey | undefined {
  for (const option of options) {
    if (safeParse(option, value).success) return findUnknownKey(option, value, path)
  }
  if (!isPlainObject(value)) return undefined
  const objects = options.filter((option) => holdsObject(option))
  return objects.length === 1 ? findUnknownKey(objects[0]!, value, path) : undefined
}

function holdsObject(schema: z.core.$ZodType): boolean {
  const def = (schema as z.core.$ZodTypes)._zod.def
  switch (def.type) {
    case 'object':
      return true
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'nonoptional':
    case 'readonly':
    case 'catch':
      return holdsObject(def.innerType)
    case 'pipe':
      return holdsObject(def.in)
    default:
      return false
  }
}

/** An object literal (or `Object.create(null)`): the only kind of value the walk enters. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}
