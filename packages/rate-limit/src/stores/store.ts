import type { ResolvedPolicy } from '../algorithms/policy.js'

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
