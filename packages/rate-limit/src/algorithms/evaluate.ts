import type { ResolvedPolicy } from './policy.js'
import { type Attempt, newVerdict, type PolicyState, round6, type Verdict } from './verdict.js'

/*
 * The four algorithms, in TypeScript. `redis-script-algorithms.ts` holds the same arithmetic in
 * Lua, step for step, so the memory and Redis stores decide identically (the shared
 * contract suite checks it). Time is integer milliseconds; the state each algorithm
 * keeps, and the verdict it gives, are described in `verdict.ts`.
 */

/** Float tolerance for the bucket comparisons: sums of fractional costs must not refuse a request that fits. */
const EPSILON = 1e-9

/**
 * Evaluates `cost` against one policy at `now` without writing anything. The verdict
 * goes into `out` (a fresh one by default); `out.next` is overwritten, never aliased to `state`.
 */
export function evaluate(
  policy: ResolvedPolicy,
  state: PolicyState | undefined,
  attempt: Attempt,
  out: Verdict = newVerdict(),
): Verdict {
  switch (policy.algorithm) {
    case 'gcra':
      return gcra(policy, state, attempt, out)
    case 'token-bucket':
      return tokenBucket(policy, state, attempt, out)
    case 'fixed-window':
      return fixedWindow(policy, state, attempt, out)
    case 'sliding-window':
      return slidingWindow(policy, state, attempt, out)
    case 'sliding-log':
      return slidingLog(policy, state, attempt, out)
  }
}

/**
 * Most entries a sliding-log key keeps. Integer costs never need more than `limit` entries
 * (each holds at least one unit, and at most `limit` units are in the window); past the
 * bound the two oldest merge, which can only refuse earlier, never admit more.
 */
export const MAX_LOG_ENTRIES = 1000

/** Index of the first pair of a sliding-log state (after its three head numbers). */
const LOG_START = 3

/**
 * Sliding log: the units admitted at each time of the last window. A request is admitted
 * only when the units of the last `windowMs` plus its cost fit in the limit, so no window
 * of that length, wherever it starts, ever holds more than `limit`: exact, where
 * `sliding-window` estimates. It costs O(limit) state per key. `out.next` receives the
 * pruned log (plus this request when admitted).
 */
function slidingLog(
  p: ResolvedPolicy,
  state: PolicyState | undefined,
  { now, cost }: Attempt,
  out: Verdict,
): Verdict {
  const w = p.windowMs
  // An entry admitted at t counts while now < t + w.
  const leftBefore = now - w
  let first = LOG_START
  let used = 0
  if (state !== undefined) {
    while (first < state.length && state[first]! <= leftBefore) first += 2
    for (let i = first; i < state.length; i += 2) used += state[i + 1]!
  }
  const end = state === undefined ? LOG_START : state.length
  const tolerance = EPSILON * (p.limit + 1)
  if (used + cost <= p.limit + tolerance) {
    const next = out.next
    let len = LOG_START
    for (let i = first; i < end; i++) next[len++] = state![i]!
    if (cost > 0) {
      // Same time (or a clock that stepped back): join the newest entry, so the log stays ordered.
      if (len > LOG_START && next[len - 2]! >= now) next[len - 1] = next[len - 1]! + cost
      else {
        next[len++] = now
        next[len++] = cost
      }
      const cap = Math.min(MAX_LOG_ENTRIES, Math.max(1, Math.ceil(p.limit)))
      let start = LOG_START
      while ((len - start) / 2 > cap) {
        // The oldest entry's units move to the next entry's time: they stay counted longer.
        next[start + 3] = next[start + 3]! + next[start + 1]!
        start += 2
      }
      if (start > LOG_START) {
        next.copyWithin(LOG_START, start, len)
        len -= start - LOG_START
      }
    }
    next.length = len
    next[0] = used + cost
    next[1] = (len - LOG_START) / 2
    next[2] = 0
    const reset = len > LOG_START ? next[len - 2]! + w - now : 0
    out.allowed = true
    out.remaining = Math.max(0, round6(p.limit - used - cost))
    out.resetMs = reset
    out.retryAfterMs = 0
    out.ttlMs = Math.max(1, reset)
    return out
  }
  // Refused: the retry comes when enough of the oldest units have left the window.
  let retry = -1
  if (cost <= p.limit) {
    retry = w
    let freed = 0
    for (let i = first; i < end; i += 2) {
      freed += state![i + 1]!
      if (used - freed + cost <= p.limit + tolerance) {
        retry = state![i]! + w - now
        break
      }
    }
  }
  const reset = end > first ? state![end - 2]! + w - now : 0
  out.allowed = false
  out.remaining = Math.max(0, round6(p.limit - used))
  out.resetMs = reset
  out.retryAfterMs = retry
  out.next[0] = 0
  out.next[1] = 0
  out.next[2] = 0
  out.ttlMs = 0
  return out
}

/** The sliding-log state after giving `cost` back, taken from the newest entries (the request being refunded). */
function refundLog(
  p: ResolvedPolicy,
  state: PolicyState,
  now: number,
  cost: number,
): { next: PolicyState; ttlMs: number } {
  const leftBefore = now - p.windowMs
  let first = LOG_START
  while (first < state.length && state[first]! <= leftBefore) first += 2
  const next: PolicyState = [0, 0, 0]
  for (let i = first; i < state.length; i++) next.push(state[i]!)
  let left = cost
  while (next.length > LOG_START && left > 0) {
    const last = next[next.length - 1]!
    if (last <= left) {
      left -= last
      next.length -= 2
    } else {
      next[next.length - 1] = last - left
      left = 0
    }
  }
  let units = 0
  for (let i = LOG_START + 1; i < next.length; i += 2) units += next[i]!
  next[0] = units
  next[1] = (next.length - LOG_START) / 2
  const ttlMs = next.length > LOG_START ? Math.max(1, next[next.length - 2]! + p.windowMs - now) : 1
  return { next, ttlMs }
}

/** The stored TAT, re-scaled when it was written under another interval (another tier's limit). */
function gcraTat(state: PolicyState | undefined, now: number, interval: number): number {
  if (state === undefined || state[0] <= now) return now
  if (state[1] > 0 && state[1] !== interval) return now + ((state[0] - now) / state[1]) * interval
  return state[0]
}

function gcra(
  p: ResolvedPolicy,
  state: PolicyState | undefined,
  { now, cost }: Attempt,
  out: Verdict,
): Verdict {
  const interval = p.windowMs / p.limit
  const capacity = p.burst * interval
  const tat = gcraTat(state, now, interval)
  const newTat = tat + cost * interval
  const allowAt = newTat - capacity
  if (cost > 0 && allowAt > now) {
    out.allowed = false
    out.remaining = Math.max(0, round6(p.burst - (tat - now) / interval))
    out.resetMs = Math.ceil(tat - now)
    out.retryAfterMs = cost > p.burst ? -1 : Math.ceil(allowAt - now)
    out.next[0] = tat
    out.next[1] = interval
    out.next[2] = 0
    out.ttlMs = 0
    return out
  }
  const reset = Math.ceil(newTat - now)
  out.allowed = true
  out.remaining = Math.max(0, round6(p.burst - (newTat - now) / interval))
  out.resetMs = reset
  out.retryAfterMs = 0
  out.next[0] = newTat
  out.next[1] = interval
  out.next[2] = 0
  out.ttlMs = Math.max(p.windowMs, reset)
  return out
}

function tokenBucket(
  p: ResolvedPolicy,
  state: PolicyState | undefined,
  { now, cost }: Attempt,
  out: Verdict,
): Verdict {
  const rate = p.limit / p.windowMs
  let tokens = p.burst
  if (state !== undefined) {
    const refilled = state[0] + Math.max(0, now - state[1]) * rate
    if (refilled < tokens) tokens = refilled
  }
  if (tokens + EPSILON * (p.burst + 1) >= cost) {
    const left = Math.max(0, tokens - cost)
    const reset = Math.ceil((p.burst - left) / rate)
    out.allowed = true
    out.remaining = round6(left)
    out.resetMs = reset
    out.retryAfterMs = 0
    out.next[0] = left
    out.next[1] = now
    out.next[2] = 0
    out.ttlMs = Math.max(p.windowMs, reset)
    return out
  }
  out.allowed = false
  out.remaining = Math.max(0, round6(tokens))
  out.resetMs = Math.ceil((p.burst - tokens) / rate)
  out.retryAfterMs = cost > p.burst ? -1 : Math.max(1, Math.ceil((cost - tokens) / rate))
  out.next[0] = tokens
  out.next[1] = now
  out.next[2] = 0
  out.ttlMs = 0
  return out
}

function fixedWindow(
  p: ResolvedPolicy,
  state: PolicyState | undefined,
  { now, cost }: Attempt,
  out: Verdict,
): Verdict {
  const start = now - (now % p.windowMs)
  const count = state !== undefined && state[0] === start ? state[1] : 0
  const reset = start + p.windowMs - now
  if (count + cost <= p.limit + EPSILON * (p.limit + 1)) {
    out.allowed = true
    out.remaining = Math.max(0, round6(p.limit - count - cost))
    out.resetMs = reset
    out.retryAfterMs = 0
    out.next[0] = start
    out.next[1] = count + cost
    out.next[2] = 0
    out.ttlMs = reset
    return out
  }
  out.allowed = false
  out.remaining = Math.max(0, round6(p.limit - count))
  out.resetMs = reset
  out.retryAfterMs = cost > p.limit ? -1 : reset
  out.next[0] = start
  out.next[1] = count
  out.next[2] = 0
  out.ttlMs = 0
  return out
}

/**
 * Sliding window counter: the previous window's count, weighted by how much of it the
 * sliding window still covers, plus the current count. It assumes the previous window's
 * requests were spread evenly; when they were bunched at its end, up to twice the limit
 * can pass in some sliding window (never more), in exchange for O(1) state per key.
 */
function slidingWindow(
  p: ResolvedPolicy,
  state: PolicyState | undefined,
  { now, cost }: Attempt,
  out: Verdict,
): Verdict {
  const w = p.windowMs
  const start = now - (now % w)
  let current = 0
  let previous = 0
  if (state !== undefined) {
    if (state[0] === start) {
      current = state[1]
      previous = state[2]
    } else if (state[0] === start - w) {
      previous = state[1]
    }
  }
  const elapsed = now - start
  const estimate = (previous * (w - elapsed)) / w + current
  const reset = w - elapsed
  const tolerance = EPSILON * (p.limit + 1)
  if (estimate + cost <= p.limit + tolerance) {
    out.allowed = true
    out.remaining = Math.max(0, round6(p.limit - estimate - cost))
    out.resetMs = reset
    out.retryAfterMs = 0
    out.next[0] = start
    out.next[1] = current + cost
    out.next[2] = previous
    out.ttlMs = reset + w
    return out
  }
  let retry: number
  if (cost > p.limit) retry = -1
  else if (current + cost <= p.limit + tolerance) {
    // Later in this window, once the previous window's weight has decayed enough.
    retry = Math.max(1, Math.ceil(w - ((p.limit - current - cost) * w) / previous) - elapsed)
  } else {
    // In the next window, where this window's count becomes the decaying one.
    retry = reset + Math.max(0, Math.ceil(w - ((p.limit - cost) * w) / current))
  }
  out.allowed = false
  out.remaining = Math.max(0, round6(p.limit - estimate))
  out.resetMs = reset
  out.retryAfterMs = retry
  out.next[0] = start
  out.next[1] = current
  out.next[2] = previous
  out.ttlMs = 0
  return out
}

/** The state after giving `cost` back (a request that should not count), or undefined when nothing is stored. */
export function refundState(
  p: ResolvedPolicy,
  state: PolicyState | undefined,
  now: number,
  cost: number,
): { next: PolicyState; ttlMs: number } | undefined {
  if (state === undefined) return undefined
  switch (p.algorithm) {
    case 'gcra': {
      const interval = p.windowMs / p.limit
      const tat = Math.max(now, gcraTat(state, now, interval) - cost * interval)
      return { next: [tat, interval, 0], ttlMs: Math.max(p.windowMs, Math.ceil(tat - now)) }
    }
    case 'token-bucket': {
      const rate = p.limit / p.windowMs
      const tokens = Math.min(p.burst, state[0] + Math.max(0, now - state[1]) * rate + cost)
      return { next: [tokens, now, 0], ttlMs: Math.max(p.windowMs, Math.ceil((p.burst - tokens) / rate)) }
    }
    case 'fixed-window': {
      const start = now - (now % p.windowMs)
      if (state[0] !== start) return undefined
      return { next: [start, Math.max(0, state[1] - cost), 0], ttlMs: start + p.windowMs - now }
    }
    case 'sliding-window': {
      const w = p.windowMs
      const start = now - (now % w)
      const ttlMs = start + 2 * w - now
      if (state[0] === start) return { next: [start, Math.max(0, state[1] - cost), state[2]], ttlMs }
      // The request was counted in what is now the previous window.
      if (state[0] === start - w) return { next: [start, 0, Math.max(0, state[1] - cost)], ttlMs }
      return undefined
    }
    case 'sliding-log':
      return refundLog(p, state, now, cost)
  }
}
