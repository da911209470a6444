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
 * Serialises an entry for L2, rejecting values JSON cannot carry faithfully at the top
 * level (`undefined`, functions, symbols, BigInt, cycles): better a clear error now than
 * a different value read back later.
 */
export function encodeEntry(entry: Entry, key: string): string {
  const value = entry.v
  if (value === undefined) {
    throw new CacheInputError(`Cannot cache undefined for key "${key}": use null for "no value"`)
  }
  const type = typeof value
  if (type === 'function' || type === 'symbol' || type === 'bigint') {
    throw new SerializationError(`Cannot cache a ${type} for key "${key}": values must be JSON-serialisable`)
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
  // Freshness first, in a fixed shape: the lock script reads `e` with a pattern match
  // instead of decoding the whole value inside Redis.
  const tags = entry.t === undefined ? '' : `,"t":${JSON.stringify(entry.t)}`
  const write = entry.w === undefined ? '' : `,"w":${entry.w}`
  return `{"e":${Math.round(entry.e)},"s":${Math.round(entry.s)},"d":${Math.round(entry.d)},"c":${Math.floor(entry.c ?? 0)}${write}${tags},"v":${json}}`
}

/** Parses an L2 payload; anything malformed reads as a miss rather than an error. */
export function decodeEntry(raw: string | null | undefined): Entry | undefined {
  if (raw == null) return undefined
  try {
    const entry = JSON.parse(raw) as Entry
    if (entry === null || typeof entry !== 'object' || typeof entry.e !== 'number' || !('v' in entry)) {
      return undefined
    }
    return entry
  } catch {
    return undefined
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined'
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value)
  return typeof value
}
