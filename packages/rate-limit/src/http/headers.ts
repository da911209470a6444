import type { ResolvedPolicy } from '../algorithms/policy.js'
import type { Decision } from '../limiter/decision.js'

/** Which header flavour `rateLimit()` sends. */
export type HeaderStyle = 'draft-11' | 'draft-8' | 'draft-7' | 'legacy'

type SetHeader = (name: string, value: string) => void

const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000))
const whole = (units: number) => Math.max(0, Math.floor(units))
/** A policy name as a Structured Field string (RFC 8941 §3.3.3). */
const sfString = (text: string) => `"${text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[^\x20-\x7e]/g, '')}"`

/**
 * Writes the rate-limit headers of one decision.
 * - `draft-11` (draft-ietf-httpapi-ratelimit-headers-09..11): `RateLimit-Policy` lists every
 *   policy as `"name";q=100;w=60`, and `RateLimit: "name";r=42;t=17` the deciding one
 *   (Structured Field lists, canonical serialisation);
 * - `draft-8`: the same fields, as express-rate-limit writes them (`"name"; q=100; w=60`);
 * - `draft-7`: `RateLimit-Policy: 100;w=60` and `RateLimit: limit=100, remaining=42, reset=17`;
 * - `legacy`: `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (Unix seconds).
 */
export function writeHeaders(
  style: HeaderStyle,
  set: SetHeader,
  decision: Decision,
  policies: readonly ResolvedPolicy[],
  nowMs: number,
): void {
  const remaining = whole(decision.remaining)
  const reset = seconds(decision.resetMs)
  const deciding = policies.find((p) => p.name === decision.policy) ?? policies[0]!
  switch (style) {
    case 'draft-11': {
      set(
        'RateLimit-Policy',
        policies.map((p) => `${sfString(p.name)};q=${whole(p.limit)};w=${seconds(p.windowMs)}`).join(', '),
      )
      set('RateLimit', `${sfString(deciding.name)};r=${remaining};t=${reset}`)
      return
    }
    case 'draft-8': {
      set(
        'RateLimit-Policy',
        policies.map((p) => `${sfString(p.name)}; q=${whole(p.limit)}; w=${seconds(p.windowMs)}`).join(', '),
      )
      set('RateLimit', `${sfString(deciding.name)}; r=${remaining}; t=${reset}`)
      return
    }
    case 'draft-7': {
      set('RateLimit-Policy', policies.map((p) => `${whole(p.limit)};w=${seconds(p.windowMs)}`).join(', '))
      set('RateLimit', `limit=${whole(decision.limit)}, remaining=${remaining}, reset=${reset}`)
      return
    }
    case 'legacy': {
      set('X-RateLimit-Limit', String(whole(decision.limit)))
      set('X-RateLimit-Remaining', String(remaining))
      set('X-RateLimit-Reset', String(Math.ceil((nowMs + decision.resetMs) / 1000)))
      return
    }
  }
}
