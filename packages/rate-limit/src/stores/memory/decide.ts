import { evaluate, refundState } from '../../algorithms/evaluate.js'
import type { ResolvedPolicy } from '../../algorithms/policy.js'
import { type PolicyState, round6 } from '../../algorithms/verdict.js'
import type { StoreResult } from '../store.js'

/** A decision to make: its kind, the key's policies, and the cost. */
export interface DecideOp {
  kind: 'consume' | 'peek' | 'refund'
  policies: readonly ResolvedPolicy[]
  cost: number
}

/** What is stored for the key: each policy's state (same order as the policies) and the end of a `block()`. */
export interface Stored {
  states: readonly (PolicyState | undefined)[]
  blockedUntil: number
}

/** What {@link decide} wants written back: the state per policy (same order) and the key's lifetime. */
export interface Outcome {
  result: StoreResult
  /** Undefined when nothing is written (refused, peek). */
  writes: (PolicyState | undefined)[] | undefined
  ttlMs: number
}

/**
 * Multi-policy decision, all or nothing: each policy is evaluated; only when all allow
 * is any state written, so a refusal by one policy consumes nothing from the others.
 * The memory store runs this; the Redis script mirrors it.
 */
export function decide(op: DecideOp, stored: Stored, now: number): Outcome {
  const { kind, policies, cost } = op
  const { states, blockedUntil } = stored
  if (kind === 'refund') return refund(op, stored, now)
  if (blockedUntil > now) {
    return {
      result: {
        allowed: false,
        policyIndex: -1,
        remaining: 0,
        resetMs: blockedUntil - now,
        retryAfterMs: blockedUntil - now,
      },
      writes: undefined,
      ttlMs: 0,
    }
  }
  let allowed = true
  let chosen = 0
  let chosenRemaining = Number.POSITIVE_INFINITY
  let chosenRetry = 0
  let chosenReset = 0
  let ttl = 0
  const next: (PolicyState | undefined)[] = []
  const attempt = { now, cost }
  for (let i = 0; i < policies.length; i++) {
    const v = evaluate(policies[i]!, states[i], attempt)
    next.push(v.next)
    if (v.ttlMs > ttl) ttl = v.ttlMs
    if (!v.allowed) {
      // The refusal that lasts longest decides: by then every other refusing policy allows too.
      if (allowed || v.retryAfterMs === -1 || (chosenRetry !== -1 && v.retryAfterMs > chosenRetry)) {
        chosen = i
        chosenRetry = v.retryAfterMs
        chosenRemaining = v.remaining
        chosenReset = v.resetMs
      }
      allowed = false
    } else if (allowed && v.remaining < chosenRemaining) {
      chosen = i
      chosenRemaining = v.remaining
      chosenReset = v.resetMs
    }
  }
  if (kind === 'peek' && allowed) chosenRemaining = round6(chosenRemaining + cost)
  return {
    result: {
      allowed,
      policyIndex: chosen,
      remaining: chosenRemaining,
      resetMs: chosenReset,
      retryAfterMs: allowed ? 0 : chosenRetry,
    },
    writes: allowed && kind === 'consume' && cost > 0 ? next : undefined,
    ttlMs: blockedUntil > now ? Math.max(ttl, blockedUntil - now) : ttl,
  }
}

function refund({ policies, cost }: DecideOp, { states, blockedUntil }: Stored, now: number): Outcome {
  const writes: (PolicyState | undefined)[] = []
  const after: (PolicyState | undefined)[] = []
  let ttl = blockedUntil > now ? blockedUntil - now : 0
  let any = false
  for (let i = 0; i < policies.length; i++) {
    const refunded = refundState(policies[i]!, states[i], now, cost)
    writes.push(refunded?.next)
    after.push(refunded ? refunded.next : states[i])
    if (refunded) {
      any = true
      if (refunded.ttlMs > ttl) ttl = refunded.ttlMs
    }
  }
  // Report the state after the refund as a peek of one unit would.
  const view = decide({ kind: 'peek', policies, cost: 1 }, { states: after, blockedUntil }, now)
  return { result: view.result, writes: any ? writes : undefined, ttlMs: ttl }
}
