/** The algorithms a policy may use. */
export type Algorithm = 'gcra' | 'token-bucket' | 'sliding-window' | 'fixed-window' | 'sliding-log'

/** One limit: `limit` units per `windowMs`, with up to `burst` units at once (GCRA and token bucket). */
export interface ResolvedPolicy {
  readonly name: string
  readonly algorithm: Algorithm
  readonly limit: number
  readonly windowMs: number
  /** Bucket capacity for GCRA and token bucket; ignored by the window algorithms. */
  readonly burst: number
}

/**
 * The outcome of a call, as a value: a refused request resolves, it never rejects.
 *
 * `source` says who decided: the store (`memory` or `redis`), the local fast path
 * (`blocked`, a key known to be refused), or the store-failure policy (`open`,
 * `closed`, `local`).
 */
export interface Decision {
  allowed: boolean
  /** The limit of the policy that decided (the refusing one, or the tightest one when allowed). */
  limit: number
  /** Units left in that policy after this call (may be fractional with fractional costs). */
  remaining: number
  /** Milliseconds until that policy is fully replenished (or its window ends). */
  resetMs: number
  /** 0 when allowed; otherwise when a retry of the same cost can succeed. `Infinity` when it never can (cost above capacity). */
  retryAfterMs: number
  /** The name of the deciding policy, or `'block'` when the key was blocked with `block()`. */
  policy: string
  source: DecisionSource
}

export type DecisionSource = 'memory' | 'redis' | 'blocked' | 'open' | 'closed' | 'local'

/** The operations a store performs. */
export type StoreOpKind = 'consume' | 'peek' | 'refund' | 'block' | 'reset'

/** One operation against a store: a key (already free of the prefix) and its policies. */
export interface StoreOp {
  kind: StoreOpKind
  key: string
  cost: number
  policies: readonly ResolvedPolicy[]
  /** For `block`: how long, in milliseconds. */
  blockMs: number
}

/** What a store answers: `policyIndex` is -1 when a `block()` decided. */
export interface StoreResult {
  allowed: boolean
  policyIndex: number
  remaining: number
  resetMs: number
  /** -1 when no retry can succeed. */
  retryAfterMs: number
}

/**
 * A place where limiter state lives. `memory` and `redis` implement it and pass one
 * shared contract suite; both keep every algorithm's semantics identical.
 */
export interface RateLimitStore {
  readonly kind: 'memory' | 'redis'
  run(op: StoreOp): Promise<StoreResult>
  close(): void
}
