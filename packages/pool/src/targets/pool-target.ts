/** What a pool looks like at one instant. */
export interface PoolSnapshot {
  /** The configured most connections (the size the sizer controls). */
  max: number
  /** Connections open or opening. */
  total: number
  /** Connections checked out. */
  inUse: number
  idle: number
  /** Callers waiting for a connection. */
  waiting: number
}

/** Outcome of one checkout, as the sizer's algorithm sees it. */
export type CheckoutOutcome = 'success' | 'dropped' | 'ignored'

/** Receives what an adapter observes on its pool. */
export interface PoolObserver {
  /** A caller got a connection after waiting `waitMs`. */
  acquired(waitMs: number): void
  /** A caller gave up or failed getting a connection (acquire timeout, connect error). */
  acquireFailed(waitMs: number, error: unknown): void
  /** A connection came back after `holdMs` (the query latency). */
  released(holdMs: number, outcome: CheckoutOutcome): void
}

/**
 * A pool the sizer can resize: implemented by {@link pgPoolTarget} and
 * {@link genericPoolTarget}; implement it to size anything else.
 */
export interface PoolTarget {
  /** `pg`, `generic-pool` or your own name, for logs. */
  readonly kind: string
  /** The pool's own lower bound (its `min`); the sizer never goes below it. */
  readonly floor: number
  snapshot(): PoolSnapshot
  /**
   * Sets the most connections. Growing lets waiting callers connect at once; shrinking
   * closes idle connections only, so no query in flight is cut.
   */
  resize(max: number): void
  /** Starts reporting checkouts to `observer`; returns a function that stops it. */
  observe(observer: PoolObserver, now: () => number): () => void
  /** The database's `max_connections`, when the adapter can ask (pg: `SHOW max_connections`). */
  maxConnections?(): Promise<number>
}
