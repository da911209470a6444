import { SerializationError } from '@headroom/core'
import { CacheInputError } from '../errors.js'

/**
 * One cached value with its timing, as the code reads it. Times are epoch ms from the
 * cache's clock. L2 keeps it in a compact JSON form (see {@link Codec}); only the codec
 * reads or writes that form.
 */
export interface Entry {
  /** The value (never `undefined`). */
  value: unknown
  /** Fresh until. */
  freshUntil: number
  /** Servable as stale until (`freshUntil + grace`). */
  staleUntil: number
  /** How long the factory took, in ms (XFetch scales early refresh by it). */
  factoryMs: number
  /**
   * When it was written (the writer's clock): a write or replayed invalidation never
   * replaces an entry written later (see the scripts in `redis-store`).
   */
  writtenAt?: number | undefined
  /** Tags, when any. */
  tags?: string[] | undefined
  /** A random id of this write: bus receivers compare it to keep an entry they already hold. */
  writeId?: number | undefined
}

/**
 * The wire form of an {@link Entry} in L2. The Lua scripts read its header (`e`, `s`, `d`,
 * `c`, in this order) by pattern, so the short names and the order are part of the format.
 */
interface WireEntry {
  v: unknown
  e: number
  s: number
  d: number
  c?: number
  t?: string[]
  w?: number
}

/**
 * Turns values into the text L2 stores and back. JSON is the default; a serializer that
 * carries more types (superjson, v8's structured clone in base64) makes `Date`, `Map`,
 * `Set` or `BigInt` values come back as they went in, from either tier.
 */
export interface Serializer {
  serialize(value: unknown): string
  deserialize(text: string): unknown
}

/**
 * Encodes entries for L2 and decodes them. `encode` also replaces the entry's value with
 * what decoding gives back, so L1 holds exactly what another instance reads from L2 (one
 * type contract for both tiers, and a copy the caller can no longer mutate): the cost is
 * paid once per write, never on a hit.
 */
export interface Codec {
  encode(entry: Entry, key: string): string
  /** Anything malformed (or written with another serializer) reads as a miss rather than an error. */
  decode(raw: string | null | undefined): Entry | undefined
}

export function createCodec(serializer: Serializer | undefined): Codec {
  return serializer === undefined ? jsonCodec : customCodec(serializer)
}

/** Rejects what no serializer can carry as a cached value. */
function assertCacheable(value: unknown, key: string): void {
  if (value === undefined) {
    throw new CacheInputError(`Cannot cache undefined for key "${key}": use null for "no value"`)
  }
  const type = typeof value
  if (type === 'function' || type === 'symbol') {
    throw new SerializationError(`Cannot cache a ${type} for key "${key}": values must be serialisable`)
  }
}

/**
 * Freshness first, in a fixed shape (`e`, `s`, `d`, `c`): the scripts read the expiry and
 * the write time with a pattern match instead of decoding the whole value inside Redis.
 */
function header(entry: Entry): string {
  const tags = entry.tags === undefined ? '' : `,"t":${JSON.stringify(entry.tags)}`
  const write = entry.writeId === undefined ? '' : `,"w":${entry.writeId}`
  return `{"e":${Math.round(entry.freshUntil)},"s":${Math.round(entry.staleUntil)},"d":${Math.round(entry.factoryMs)},"c":${Math.floor(entry.writtenAt ?? 0)}${write}${tags}`
}

const isWireEntry = (wire: WireEntry | null) =>
  wire !== null && typeof wire === 'object' && typeof wire.e === 'number'

/** The boundary: the one place the wire names are read. */
function fromWire(wire: WireEntry, value: unknown): Entry {
  return {
    value,
    freshUntil: wire.e,
    staleUntil: wire.s,
    factoryMs: wire.d,
    writtenAt: wire.c,
    tags: wire.t,
    writeId: wire.w,
  }
}

/**
 * The default: the value is JSON inside the entry's JSON, one `JSON.parse` per L2 read.
 * BigInt, cycles and top-level values JSON drops are refused: better a clear error now
 * than a different value read back later.
 */
const jsonCodec: Codec = {
  encode(entry, key) {
    const value = entry.value
    assertCacheable(value, key)
    if (typeof value === 'bigint') {
      throw new SerializationError(`Cannot cache a bigint for key "${key}": values must be JSON-serialisable`)
    }
    let json: string
    try {
      json = JSON.stringify(value)
    } catch (error) {
      throw new SerializationError(`Cannot cache the value of key "${key}": ${(error as Error).message}`, {
        cause: error,
      })
    }
    if (json === undefined) {
      throw new SerializationError(`Cannot cache the value of key "${key}": it serialises to nothing`)
    }
    // Strings and booleans read back as they are; everything else is read back from the JSON.
    if (typeof value !== 'string' && typeof value !== 'boolean') entry.value = JSON.parse(json)
    return `${header(entry)},"v":${json}}`
  },
  decode(raw) {
    if (raw == null) return undefined
    try {
      const wire = JSON.parse(raw) as WireEntry
      return isWireEntry(wire) && 'v' in wire ? fromWire(wire, wire.v) : undefined
    } catch {
      return undefined
    }
  },
}

/** A custom serializer: the header's JSON, a newline (JSON never has a raw one), the value's text. */
function customCodec(serializer: Serializer): Codec {
  return {
    encode(entry, key) {
      assertCacheable(entry.value, key)
      let text: unknown
      try {
        text = serializer.serialize(entry.value)
        if (typeof text !== 'string') {
          throw new TypeError(`serializer.serialize returned ${typeof text}, not a string`)
        }
        entry.value = serializer.deserialize(text)
      } catch (error) {
        throw new SerializationError(`Cannot cache the value of key "${key}": ${(error as Error).message}`, {
          cause: error,
        })
      }
      return `${header(entry)}}\n${text}`
    },
    decode(raw) {
      if (raw == null) return undefined
      const newline = raw.indexOf('\n')
      if (newline === -1) return undefined
      try {
        const wire = JSON.parse(raw.slice(0, newline)) as WireEntry
        if (!isWireEntry(wire)) return undefined
        const value = serializer.deserialize(raw.slice(newline + 1))
        return value === undefined ? undefined : fromWire(wire, value)
      } catch {
        return undefined
      }
    },
  }
}
