import { SerializationError } from '@headroom/core'
import { CacheInputError } from './errors.js'

/**
 * One cached value with its timing. L1 keeps these objects; L2 keeps their JSON.
 * Times are epoch ms from the cache's clock.
 */
export interface Entry {
  /** The value (never `undefined`). */
  v: unknown
  /** Fresh until. */
  e: number
  /** Servable as stale until (`e + grace`). */
  s: number
  /** How long the factory took, in ms (XFetch scales early refresh by it). */
  d: number
  /**
   * When it was written (the writer's clock): a write or replayed invalidation never
   * replaces an entry written later (see the scripts in `redis-store`).
   */
  c?: number
  /** Tags, when any. */
  t?: string[]
  /** A random id of this write: bus receivers compare it to keep an entry they already hold. */
  w?: number
}

/** Throws a {@link CacheInputError} for a key the cache refuses. */
export function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new CacheInputError(`Cache key must be a non-empty string (received ${describe(key)})`)
  }
}

/**
 * Longest TTL (or grace) accepted: 10 years. Entries use no timers, but Redis takes PX as an
 * integer, and a TTL past this is a bug (a seconds/ms mix-up) more often than an intent.
 */
export const MAX_TTL_MS = 315_360_000_000

/** Throws for a TTL that is not a positive finite number of ms up to {@link MAX_TTL_MS}. */
export function assertTtl(ttl: unknown, what = 'ttl'): void {
  if (ttl === undefined) return
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0 || ttl > MAX_TTL_MS) {
    throw new CacheInputError(
      `Cache ${what} must be a positive number of ms up to ${MAX_TTL_MS} (received ${describe(ttl)})`,
    )
  }
}

/** Throws for tags that are not an array of non-empty strings. */
export function assertTags(tags: unknown): void {
  if (tags === undefined) return
  if (!Array.isArray(tags) || tags.some((tag) => typeof tag !== 'string' || tag.length === 0)) {
    throw new CacheInputError(`Cache tags must be an array of non-empty strings (received ${describe(tags)})`)
  }
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
  const tags = entry.t === undefined ? '' : `,"t":${JSON.stringify(entry.t)}`
  const write = entry.w === undefined ? '' : `,"w":${entry.w}`
  return `{"e":${Math.round(entry.e)},"s":${Math.round(entry.s)},"d":${Math.round(entry.d)},"c":${Math.floor(entry.c ?? 0)}${write}${tags}`
}

const isEntry = (entry: Entry | null) =>
  entry !== null && typeof entry === 'object' && typeof entry.e === 'number'

/**
 * The default: the value is JSON inside the entry's JSON, one `JSON.parse` per L2 read.
 * BigInt, cycles and top-level values JSON drops are refused: better a clear error now
 * than a different value read back later.
 */
const jsonCodec: Codec = {
  encode(entry, key) {
    const value = entry.v
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
    if (typeof value !== 'string' && typeof value !== 'boolean') entry.v = JSON.parse(json)
    return `${header(entry)},"v":${json}}`
  },
  decode(raw) {
    if (raw == null) return undefined
    try {
      const entry = JSON.parse(raw) as Entry
      return isEntry(entry) && 'v' in entry ? entry : undefined
    } catch {
      return undefined
    }
  },
}

/** A custom serializer: the header's JSON, a newline (JSON never has a raw one), the value's text. */
function customCodec(serializer: Serializer): Codec {
  return {
    encode(entry, key) {
      assertCacheable(entry.v, key)
      let text: unknown
      try {
        text = serializer.serialize(entry.v)
        if (typeof text !== 'string') {
          throw new TypeError(`serializer.serialize returned ${typeof text}, not a string`)
        }
        entry.v = serializer.deserialize(text)
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
        const entry = JSON.parse(raw.slice(0, newline)) as Entry
        if (!isEntry(entry)) return undefined
        entry.v = serializer.deserialize(raw.slice(newline + 1))
        return entry.v === undefined ? undefined : entry
      } catch {
        return undefined
      }
    },
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value)
  return typeof value
}
