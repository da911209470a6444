import { type OptionsSchemaMatch, parseOptions } from '@headroom/core'
import { z } from 'zod'
import { isDropError } from '../shared/drops.js'
import { functionOf } from '../shared/schema.js'
import type { CheckoutOutcome, PoolTarget } from './pool-target.js'

/** The part of a pg `Client` the adapter touches. */
export interface PgClientLike {
  release(error?: Error | boolean): void
}

/** The callback form of `pg.Pool.connect`. */
export type PgConnectCallback = (
  error: Error | undefined,
  client: PgClientLike | undefined,
  done: () => void,
) => void

/** The part of a `pg.Pool` (pg-pool 3) the adapter relies on, structurally, so `pg` stays optional. */
export interface PgPoolLike {
  options: { max: number; min?: number }
  readonly totalCount: number
  readonly idleCount: number
  readonly waitingCount: number
  connect(): Promise<PgClientLike>
  connect(callback: PgConnectCallback): void
  query(text: string): Promise<{ rows: Record<string, unknown>[] }>
  on(event: 'acquire', listener: (client: PgClientLike) => void): unknown
  on(event: 'release', listener: (error: unknown, client: PgClientLike) => void): unknown
  off(event: string, listener: (...args: any[]) => void): unknown
}

/** Options of {@link pgPoolTarget}. */
export interface PgPoolTargetOptions {
  /** Decides whether a query error is a drop (overload) or unrelated to load. @default isDropError */
  isDrop?: (error: unknown) => boolean
}

const pgPoolTargetOptionsSchema = z.object({
  isDrop: functionOf<(error: unknown) => boolean>().default(() => isDropError),
}) satisfies z.ZodType<Required<PgPoolTargetOptions>, PgPoolTargetOptions>
true satisfies OptionsSchemaMatch<typeof pgPoolTargetOptionsSchema, PgPoolTargetOptions>

/** The error a retired connection is released with, so pg-pool closes it instead of idling it. */
class RetiredConnection extends Error {
  constructor() {
    super('Connection retired by @headroom/pool after the pool shrank')
    this.name = 'RetiredConnection'
  }
}

/**
 * Adapts a live `pg.Pool` for {@link createPoolSizer}.
 *
 * How it resizes: pg-pool reads `options.max` each time it decides whether it may open
 * a connection, so writing it takes effect on the next checkout. Growing also checks out
 * (and at once releases) one connection per waiting caller, through the public API: the
 * released connection goes straight to the longest waiter, so they need not wait for an
 * in-flight query. Shrinking never touches a busy connection: it queues one checkout per
 * excess connection and releases what it gets with an error, which makes pg-pool close
 * that (idle) connection; a checkout that arrives after the pool grew back is released
 * normally.
 *
 * How it measures: `pool.connect` is wrapped on the instance (pool.query goes through it),
 * giving the acquire wait; the `acquire`/`release` events give how long each connection
 * was held (the query latency) and its error. The wrapper is removed when the sizer closes.
 *
 * @example
 * const pool = new pg.Pool({ connectionString, max: 10 })
 * const sizer = createPoolSizer({ target: pgPoolTarget(pool), min: 2, max: 40, instances: 4 })
 */
export function pgPoolTarget(pool: PgPoolLike, options: PgPoolTargetOptions = {}): PoolTarget {
  const { isDrop } = parseOptions('pgPoolTarget', pgPoolTargetOptionsSchema, options)
  // Checkouts the adapter makes itself: they are neither samples nor waiters.
  const internal = new WeakSet<PgClientLike>()
  const originalConnect = pool.connect
  let queuedRetires = 0
  let queuedPrimes = 0

  const checkoutInternal = (use: (client: PgClientLike) => void, onSettled: () => void) => {
    ;(originalConnect as () => Promise<PgClientLike>).call(pool).then(
      (client) => {
        onSettled()
        internal.add(client)
        use(client)
      },
      // An internal checkout failing (pool ending, acquire timeout) changes nothing.
      onSettled,
    )
  }

  const retireExcess = () => {
    const excess = pool.totalCount - pool.options.max - queuedRetires
    for (let i = 0; i < excess; i++) {
      queuedRetires++
      checkoutInternal(
        (client) => client.release(pool.totalCount > pool.options.max ? new RetiredConnection() : undefined),
        () => queuedRetires--,
      )
    }
  }

  const serveWaiters = () => {
    if (pool.idleCount > 0) return
    const waiting = pool.waitingCount - queuedRetires - queuedPrimes
    const room = pool.options.max - pool.totalCount
    for (let i = 0; i < Math.min(waiting, room); i++) {
      queuedPrimes++
      checkoutInternal(
        (client) => client.release(),
        () => queuedPrimes--,
      )
    }
  }

  return {
    kind: 'pg',
    get floor() {
      return pool.options.min ?? 0
    },
    snapshot() {
      const total = pool.totalCount
      const idle = pool.idleCount
      return {
        max: pool.options.max,
        total,
        idle,
        inUse: total - idle,
        waiting: Math.max(0, pool.waitingCount - queuedRetires - queuedPrimes),
      }
    },
    resize(max) {
      const old = pool.options.max
      pool.options.max = max
      if (max > old) serveWaiters()
      else if (max < old) retireExcess()
    },
    observe(observer, now) {
      const heldSince = new WeakMap<PgClientLike, number>()
      const onAcquire = (client: PgClientLike) => {
        heldSince.set(client, now())
      }
      const onRelease = (error: unknown, client: PgClientLike) => {
        if (internal.has(client)) {
          internal.delete(client)
          return
        }
        const since = heldSince.get(client)
        if (since === undefined) return
        heldSince.delete(client)
        const outcome: CheckoutOutcome = error ? (isDrop(error) ? 'dropped' : 'ignored') : 'success'
        observer.released(now() - since, outcome)
      }
      function connect(this: PgPoolLike, callback?: PgConnectCallback): Promise<PgClientLike> | undefined {
        const start = now()
        if (typeof callback === 'function') {
          ;(originalConnect as (cb: PgConnectCallback) => void).call(pool, (error, client, done) => {
            if (error) observer.acquireFailed(now() - start, error)
            else observer.acquired(now() - start)
            callback(error, client, done)
          })
          return undefined
        }
        return (originalConnect as () => Promise<PgClientLike>).call(pool).then(
          (client) => {
            observer.acquired(now() - start)
            return client
          },
          (error: unknown) => {
            observer.acquireFailed(now() - start, error)
            throw error
          },
        )
      }
      pool.connect = connect as PgPoolLike['connect']
      pool.on('acquire', onAcquire)
      pool.on('release', onRelease)
      return () => {
        if (pool.connect === (connect as PgPoolLike['connect'])) pool.connect = originalConnect
        pool.off('acquire', onAcquire)
        pool.off('release', onRelease)
      }
    },
    async maxConnections() {
      const result = await pool.query('SHOW max_connections')
      const value = Number(result.rows[0]?.max_connections)
      if (!Number.isInteger(value) || value <= 0)
        throw new Error(`Unexpected max_connections: ${String(value)}`)
      return value
    },
  }
}
