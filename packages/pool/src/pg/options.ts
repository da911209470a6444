import { createCallOptionsCheck, type OptionsSchemaMatch } from '@headroom/core'
import { z } from 'zod'
import type { AdaptiveLimiter } from '../limiter/types.js'
import { functionOf } from '../shared/schema.js'
import { isTransientPgError } from './transient.js'

/** The part of `@headroom/cache` (or any cache with tags) the helpers use. */
export interface QueryCache {
  getOrSet<V>(key: string, factory: () => Promise<V>, options: { ttl: number; tags: string[] }): Promise<V>
  invalidateTags(tags: readonly string[]): Promise<unknown>
}

/** Options of {@link createPgQueries}. */
export interface PgQueriesOptions {
  /** Runs of a query or transaction after the first, on a transient failure. @default 3 */
  retries?: number
  /** Backoff before the first retry (doubling, with jitter), ms. @default 10 */
  minRetryDelayMs?: number
  /** Longest backoff between two runs, ms. @default 500 */
  maxRetryDelayMs?: number
  /**
   * Which failures are run again. @default isTransientPgError (serialization failure,
   * deadlock, lost connection; never a constraint violation or a timeout)
   */
  isTransient?: (error: unknown) => boolean
  /** Every query and transaction takes a slot of this limiter while it runs. @default none */
  limiter?: AdaptiveLimiter
  /** Where `query(..., { cache })` keeps results; writes invalidate their table's tag. @default none */
  cache?: QueryCache
  /** A table's tag is this prefix and its bare name (`table:users`). @default 'table:' */
  tagPrefix?: string
  /** Prefix of the cache keys of query results. @default 'pg:' */
  keyPrefix?: string
}

/** The options after validation: every default filled in. */
export interface ResolvedPgQueriesOptions {
  retries: number
  minRetryDelayMs: number
  maxRetryDelayMs: number
  isTransient: (error: unknown) => boolean
  limiter?: AdaptiveLimiter | undefined
  cache?: QueryCache | undefined
  tagPrefix: string
  keyPrefix: string
}

const objectOf = <T extends object>() =>
  z.custom<T>((value) => typeof value === 'object' && value !== null, { error: 'expected an object' })
const delayMs = z
  .number({ error: 'expected a number' })
  .int('expected an integer')
  .min(0, 'expected 0 or more ms')

export const pgQueriesOptionsSchema = z.strictObject({
  retries: z
    .number({ error: 'expected a number' })
    .int('expected an integer')
    .min(0, 'expected 0 or more')
    .default(3),
  minRetryDelayMs: delayMs.default(10),
  maxRetryDelayMs: delayMs.default(500),
  isTransient: functionOf<(error: unknown) => boolean>().default(() => isTransientPgError),
  limiter: objectOf<AdaptiveLimiter>().optional(),
  cache: objectOf<QueryCache>().optional(),
  tagPrefix: z.string().default('table:'),
  keyPrefix: z.string().default('pg:'),
}) satisfies z.ZodType<ResolvedPgQueriesOptions, PgQueriesOptions>

// A key added to the interface but not the schema (or the other way) fails to compile here.
true satisfies OptionsSchemaMatch<typeof pgQueriesOptionsSchema, PgQueriesOptions>

/** Per-call options of `query`. */
export interface QueryOptions {
  /** The server cancels the statement past this (`statement_timeout`), ms. @default none */
  timeoutMs?: number
  /** Serve from the cache, filled for `ttl` ms and tagged with each of `tables`. @default none */
  cache?: { ttl: number; tables: readonly string[]; key?: string }
  /** Tables this statement changes, when it is not a plain INSERT/UPDATE/DELETE/MERGE/TRUNCATE/COPY. */
  invalidates?: readonly string[]
  /** Overrides `retries` for this call (0: run once, e.g. a write that must not repeat). */
  retries?: number
}

/** Isolation levels of {@link PgQueries.transaction}. */
export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable'

/** Per-call options of `transaction`. */
export interface TransactionOptions {
  /** @default the server's default_transaction_isolation (read committed) */
  isolation?: IsolationLevel
  /** Starts the transaction READ ONLY. @default false */
  readOnly?: boolean
  /** `statement_timeout` of each statement in the transaction, ms. @default none */
  timeoutMs?: number
  /** Overrides `retries` for this call. */
  retries?: number
}

/** Per-call options of `bulkInsert`. */
export interface BulkInsertOptions {
  /** Rows per COPY statement (all of them run in one transaction). @default 10000 (BULK_INSERT_CHUNK_SIZE) */
  chunkSize?: number
  /** The columns, when not every row has every key; a missing key inserts NULL. @default the first row's keys */
  columns?: readonly string[]
}

/** The default `chunkSize` of `bulkInsert`. */
export const BULK_INSERT_CHUNK_SIZE = 10_000

const checkQuery = createCallOptionsCheck('query', {
  timeoutMs: 'number',
  cache: '{ ttl: number, tables: string[], key?: string }',
  invalidates: 'string[]',
  retries: 'number',
})
const checkTransaction = createCallOptionsCheck('transaction', {
  isolation: "'read committed' | 'repeatable read' | 'serializable'",
  readOnly: 'boolean',
  timeoutMs: 'number',
  retries: 'number',
})
const checkTxQuery = createCallOptionsCheck('tx.query', { timeoutMs: 'number', invalidates: 'string[]' })
const checkBulkInsert = createCallOptionsCheck('bulkInsert', { chunkSize: 'number', columns: 'string[]' })

const ISOLATION = new Set<unknown>(['read committed', 'repeatable read', 'serializable'])

function fail(call: string, option: string, expected: string, value: unknown): never {
  throw new TypeError(`Invalid ${call} option "${option}": expected ${expected} (received ${String(value)})`)
}

function checkTimeout(call: string, value: unknown) {
  if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value > 0))
    fail(call, 'timeoutMs', 'a finite number of ms above 0', value)
}

function checkRetries(call: string, value: unknown) {
  if (value !== undefined && !(Number.isInteger(value) && (value as number) >= 0))
    fail(call, 'retries', 'an integer >= 0', value)
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string' && item !== '')
}

export function checkQueryOptions(options: QueryOptions | undefined) {
  if (options === undefined) return
  checkQuery(options)
  checkTimeout('query', options.timeoutMs)
  checkRetries('query', options.retries)
  if (options.invalidates !== undefined && !isStringArray(options.invalidates))
    fail('query', 'invalidates', 'an array of table names', options.invalidates)
  const cache = options.cache
  if (cache === undefined) return
  if (typeof cache !== 'object' || cache === null) fail('query', 'cache', '{ ttl, tables }', cache)
  if (!(typeof cache.ttl === 'number' && cache.ttl > 0))
    fail('query', 'cache.ttl', 'a number of ms above 0', cache.ttl)
  if (!isStringArray(cache.tables) || cache.tables.length === 0)
    fail('query', 'cache.tables', 'a non-empty array of the table names the query reads', cache.tables)
  if (cache.key !== undefined && typeof cache.key !== 'string')
    fail('query', 'cache.key', 'a string', cache.key)
}

/** Per-call options of `tx.query` inside a transaction. */
export function checkTxQueryOptions(
  options: { timeoutMs?: number; invalidates?: readonly string[] } | undefined,
) {
  if (options === undefined) return
  checkTxQuery(options)
  checkTimeout('tx.query', options.timeoutMs)
  if (options.invalidates !== undefined && !isStringArray(options.invalidates))
    fail('tx.query', 'invalidates', 'an array of table names', options.invalidates)
}

export function checkTransactionOptions(options: TransactionOptions | undefined) {
  if (options === undefined) return
  checkTransaction(options)
  if (options.isolation !== undefined && !ISOLATION.has(options.isolation))
    fail(
      'transaction',
      'isolation',
      "'read committed', 'repeatable read' or 'serializable'",
      options.isolation,
    )
  checkTimeout('transaction', options.timeoutMs)
  checkRetries('transaction', options.retries)
}

export function checkBulkInsertOptions(options: BulkInsertOptions | undefined) {
  if (options === undefined) return
  checkBulkInsert(options)
  if (options.chunkSize !== undefined && !(Number.isInteger(options.chunkSize) && options.chunkSize > 0))
    fail('bulkInsert', 'chunkSize', 'a positive integer', options.chunkSize)
  if (options.columns !== undefined && (!isStringArray(options.columns) || options.columns.length === 0))
    fail('bulkInsert', 'columns', 'a non-empty array of column names', options.columns)
}
