import type { ResolvedPolicy } from '../../algorithms/policy.js'
import { ALGORITHM_CODES } from './script-format.js'

/** How a policy set is sent: by the single-policy consume script (with these leading arguments) or not. */
export interface Plan {
  fast: boolean
  /** Algorithm, limit, window, burst, `:name`, GCRA interval as the state stores it. */
  head: (string | number)[]
}

/** The plan of a policy set; the store caches it per set (`forceGeneral`: tests only, never the consume script). */
export function newPlan(policies: readonly ResolvedPolicy[], forceGeneral: boolean): Plan {
  const p = policies[0]!
  return {
    fast:
      policies.length === 1 && (p.algorithm === 'gcra' || p.algorithm === 'fixed-window') && !forceGeneral,
    // String() round-trips the interval exactly, like the batch script's %.17g.
    head: [
      ALGORITHM_CODES[p.algorithm],
      p.limit,
      p.windowMs,
      p.burst,
      `:${p.name}`,
      String(p.windowMs / p.limit),
    ],
  }
}

/** Same limits under another array (per-request limits resolve to cached arrays, so this is rare). */
export function samePolicy(policies: readonly ResolvedPolicy[], p: ResolvedPolicy): boolean {
  const q = policies.length === 1 ? policies[0]! : undefined
  return (
    q !== undefined &&
    q.name === p.name &&
    q.algorithm === p.algorithm &&
    q.limit === p.limit &&
    q.windowMs === p.windowMs &&
    q.burst === p.burst
  )
}
