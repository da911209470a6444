// The query helpers: one closure holding the pool, the retry policy, the limiter and
// the cache, with query, transaction and bulkInsert as its verbs.
import { parseOptions } from '@headroom/core'
import pRetry from 'p-retry'
import type pg from 'pg'
import { copyRows, planBulkInsert } from './bulk-insert.js'
import { tableTagName } from './identifiers.js'
import {
  BULK_INSERT_CHUNK_SIZE,
  type BulkInsertOptions,
  checkBulkInsertOptions,
  checkQueryOptions,
  checkTransactionOptions,
  checkTxQueryOptions,
  type PgQueriesOptions,
  pgQueriesOptionsSchema,
  type QueryOptions,
  type TransactionOptions,
} from './options.js'
import { isConnectionLostError } from './transient.js'
import { writtenTable } from './written-tables.js'

/** What a query resolves to: the rows and how many rows the statement touched. */
export interface QueryRows<Row> {
  rows: Row[]
  rowCount: number | null
}

/** The pool the helpers run on: a `pg.Pool` (checkouts through it are what a pool sizer sees). */
export interface PgQueriesPool {
  connect(): Promise<pg.PoolClient>
  query<Row extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<Row>>
}

/** The handle `transaction`'s function gets: queries on the transaction's connection. */
export interface TransactionScope {
  query<Row extends pg.QueryResultRow = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    options?: { timeoutMs?: number; invalidates?: readonly string[] },
  ): Promise<QueryRows<Row>>
  /** The checked-out connection, for what the helpers do not cover (COPY streams, cursors). */
  readonly client: pg.PoolClient
}

export interface PgQueries {
  /**
   * Runs one statement with a per-call server-side timeout, retry of transient failures
   * and optional caching. A write to a table invalidates the table's cache tag.
   */
  query<Row extends pg.QueryResultRow = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<QueryRows<Row>>
  /**
   * Runs `fn` in a transaction on one connection and commits; on a serialization failure,
   * deadlock or lost connection it rolls back and runs `fn` again (so `fn` must have no
   * effect outside the database, or only idempotent ones).
   */
  transaction<R>(fn: (tx: TransactionScope) => Promise<R>, options?: TransactionOptions): Promise<R>
  /** Inserts `rows` with COPY, `chunkSize` rows per COPY statement, all in one transaction (all or nothing). */
  bulkInsert<Row extends object>(
    table: string,
    rows: readonly Row[],
    options?: BulkInsertOptions,
  ): Promise<{ rowCount: number }>
}

/** Lets a bigint parameter take part in a cache key (JSON.stringify throws on it otherwise). */
const bigintAsText = (_key: string, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value)

/** An error at COMMIT whose connection was lost: the commit may have happened, so it is never run again. */
const uncertain = new WeakSet<object>()

const ISOLATION_SQL = {
  'read committed': ' ISOLATION LEVEL READ COMMITTED',
  'repeatable read': ' ISOLATION LEVEL REPEATABLE READ',
  serializable: ' ISOLATION LEVEL SERIALIZABLE',
} as const

/**
 * Query helpers over a `pg.Pool`: `query` with a server-side timeout, retries and a
 * cache, `transaction` that re-runs on serialization failures, `bulkInsert` in chunks.
 *
 * @example
 * const db = createPgQueries(pool, { cache, limiter })
 * const { rows } = await db.query('select * from users where id = $1', [id], {
 *   timeoutMs: 500,
 *   cache: { ttl: 60_000, tables: ['users'] },
 * })
 * await db.query('update users set name = $2 where id = $1', [id, name]) // invalidates table:users
 * await db.transaction(async (tx) => { ... }, { isolation: 'serializable' })
 * await db.bulkInsert('events', rows, { chunkSize: 1000 })
 */
export function createPgQueries(pool: PgQueriesPool, input: PgQueriesOptions = {}): PgQueries {
  const options = parseOptions('createPgQueries', pgQueriesOptionsSchema, input)
  const { isTransient, limiter, cache, tagPrefix, keyPrefix } = options

  const limited = <R>(fn: () => Promise<R>): Promise<R> => (limiter ? limiter.run(fn) : fn())

  const withRetries = <R>(fn: () => Promise<R>, retries: number | undefined): Promise<R> =>
    pRetry(() => limited(fn), {
      retries: retries ?? options.retries,
      minTimeout: options.minRetryDelayMs,
      maxTimeout: options.maxRetryDelayMs,
      factor: 2,
      randomize: true,
      shouldRetry: ({ error }) => !uncertain.has(error) && isTransient(error),
    })

  const invalidate = async (tables: Iterable<string>) => {
    if (!cache) return
    const tags = [...new Set([...tables].map((table) => tagPrefix + table))]
    if (tags.length > 0) await cache.invalidateTags(tags)
  }

  /** Releases a client, discarding it when its connection is gone. */
  const release = (client: pg.PoolClient, error: unknown) =>
    client.release(error !== undefined && isConnectionLostError(error) ? (error as Error) : undefined)

  /** Runs one statement under `SET LOCAL statement_timeout`, in a transaction of its own. */
  const timedStatement = async (sql: string, params: unknown[] | undefined, timeoutMs: number) => {
    const client = await pool.connect()
    let failure: unknown
    try {
      // One round trip for both: the timeout lives and dies with this transaction.
      await client.query(`BEGIN; SET LOCAL statement_timeout = ${Math.ceil(timeoutMs)}`)
      const result = await client.query(sql, params)
      await commit(client)
      return result
    } catch (error) {
      failure = error
      await client.query('ROLLBACK').catch(() => {})
      throw error
    } finally {
      release(client, failure)
    }
  }

  const commit = async (client: pg.PoolClient) => {
    try {
      await client.query('COMMIT')
    } catch (error) {
      if (typeof error === 'object' && error !== null && isConnectionLostError(error)) uncertain.add(error)
      throw error
    }
  }

  const run = async <Row>(sql: string, params: unknown[] | undefined, opts: QueryOptions | undefined) => {
    const timeoutMs = opts?.timeoutMs
    const result = await withRetries(
      () => (timeoutMs === undefined ? pool.query(sql, params) : timedStatement(sql, params, timeoutMs)),
      opts?.retries,
    )
    return { rows: result.rows as Row[], rowCount: result.rowCount }
  }

  const queries: PgQueries = {
    async query<Row>(sql: string, params?: readonly unknown[], opts?: QueryOptions) {
      if (typeof sql !== 'string' || sql.trim() === '')
        throw new TypeError(`query: expected the SQL text as a non-empty string (received ${String(sql)})`)
      checkQueryOptions(opts)
      const values = params as unknown[] | undefined
      const cached = opts?.cache
      if (cached && !cache)
        throw new TypeError(
          'query: options.cache needs a cache; create the helpers with createPgQueries(pool, { cache })',
        )
      if (cached && cache) {
        const key = keyPrefix + (cached.key ?? `${sql}\u0000${JSON.stringify(values ?? [], bigintAsText)}`)
        const tags = cached.tables.map((table) => tagPrefix + tableTagName(table))
        return cache.getOrSet(key, () => run<Row>(sql, values, opts), { ttl: cached.ttl, tags })
      }
      const result = await run<Row>(sql, values, opts)
      const written = opts?.invalidates ?? [writtenTable(sql)].filter((table) => table !== undefined)
      if (written.length > 0) await invalidate(written.map(tableTagName))
      return result
    },

    async transaction(fn, opts) {
      if (typeof fn !== 'function') throw new TypeError('transaction: expected a function (tx) => Promise')
      checkTransactionOptions(opts)
      const begin =
        'BEGIN' +
        (opts?.isolation ? ISOLATION_SQL[opts.isolation] : '') +
        (opts?.readOnly ? ' READ ONLY' : '') +
        (opts?.timeoutMs !== undefined ? `; SET LOCAL statement_timeout = ${Math.ceil(opts.timeoutMs)}` : '')
      const txTimeout = opts?.timeoutMs !== undefined ? String(Math.ceil(opts.timeoutMs)) : 'DEFAULT'
      let written = new Set<string>()
      const result = await withRetries(async () => {
        written = new Set()
        const client = await pool.connect()
        let failure: unknown
        try {
          await client.query(begin)
          const tx: TransactionScope = {
            client,
            async query<Row extends pg.QueryResultRow>(
              sql: string,
              params?: readonly unknown[],
              callOpts?: { timeoutMs?: number; invalidates?: readonly string[] },
            ) {
              checkTxQueryOptions(callOpts)
              const own = callOpts?.timeoutMs
              if (own !== undefined) await client.query(`SET LOCAL statement_timeout = ${Math.ceil(own)}`)
              const res = await client.query<Row>(sql, params as unknown[] | undefined)
              if (own !== undefined) await client.query(`SET LOCAL statement_timeout = ${txTimeout}`)
              for (const table of callOpts?.invalidates ?? [writtenTable(sql)])
                if (table !== undefined) written.add(tableTagName(table))
              return { rows: res.rows, rowCount: res.rowCount }
            },
          }
          const value = await fn(tx)
          await commit(client)
          return value
        } catch (error) {
          failure = error
          await client.query('ROLLBACK').catch(() => {})
          throw error
        } finally {
          release(client, failure)
        }
      }, opts?.retries)
      await invalidate(written)
      return result
    },

    async bulkInsert(table, rows, opts) {
      checkBulkInsertOptions(opts)
      const plan = planBulkInsert(table, rows as readonly Record<string, unknown>[], opts?.columns)
      const chunkSize = opts?.chunkSize ?? BULK_INSERT_CHUNK_SIZE
      const rowCount = await queries.transaction(async (tx) => {
        let copied = 0
        for (let start = 0; start < plan.rows.length; start += chunkSize)
          copied += await copyRows(tx.client, plan, start, Math.min(plan.rows.length, start + chunkSize))
        return copied
      })
      await invalidate([tableTagName(table)])
      return { rowCount }
    },
  }
  return queries
}
