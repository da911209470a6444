/** The answer to a half-open request. */
export type ProbeGrant =
  | { kind: 'lease'; ms: number }
  | { kind: 'closed' }
  | { kind: 'open'; ms: number }
  | { kind: 'busy'; ms: number }

/** Reads `acquireProbeScript`'s `{kind, ms}` reply (see scripts.ts for the codes). */
export function toProbeGrant(kind: number, ms: number): ProbeGrant {
  const left = Number(ms) > 0 ? Number(ms) : 25
  if (kind === 3) return { kind: 'closed' }
  if (kind === 0) return { kind: 'lease', ms: left }
  if (kind === 1) return { kind: 'open', ms: left }
  return { kind: 'busy', ms: left }
}
