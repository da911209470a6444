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
