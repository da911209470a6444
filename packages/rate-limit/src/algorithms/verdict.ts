/**
 * What the algorithms (`algorithms.ts`) read and write. Time is integer milliseconds.
 *
 * State is three numbers per policy, and for `sliding-log` a list after them:
 * - gcra: [tat, interval] (theoretical arrival time, and the emission interval it was
 *   written with: a per-request limit change re-scales the debt instead of misreading it)
 * - token-bucket: [tokens, updatedAt]
 * - fixed-window: [windowStart, count]
 * - sliding-window: [windowStart, count, previousCount]
 * - sliding-log: [units, entries, 0, t1, c1, t2, c2, ...]: the units admitted at each time
 *   of the last window, oldest first (Redis stores only the pairs, "t1 c1 t2 c2 ...")
 */
export type PolicyState = [number, number, number, ...number[]]

/** One attempt: `cost` units at `now` (integer milliseconds). Callers on a hot path reuse one. */
export interface Attempt {
  now: number
  cost: number
}

/** One policy's verdict; `next` is the state to write when every policy allows. */
export interface Verdict {
  allowed: boolean
  remaining: number
  resetMs: number
  /** 0 when allowed, -1 when the cost can never fit. */
  retryAfterMs: number
  next: PolicyState
  /**
   * How long to keep `next`: until it no longer matters, but at least one window, so a
   * light user's key is overwritten rather than created and expired on every request
   * (GCRA and token-bucket state is otherwise done within milliseconds at large limits).
   */
  ttlMs: number
}

/** Remaining units are reported to a millionth, so 0.1 + 0.2 reads as 0.3. */
export function round6(value: number): number {
  return Math.floor(value * 1e6 + 0.5) / 1e6
}

/** A blank verdict, for callers that reuse one across calls (the memory store's hot path). */
export function newVerdict(): Verdict {
  return { allowed: false, remaining: 0, resetMs: 0, retryAfterMs: 0, next: [0, 0, 0], ttlMs: 0 }
}
