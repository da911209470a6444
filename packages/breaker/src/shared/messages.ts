/** A state change one instance tells the others about. */
export type HubMessage = { type: 'open'; ms: number } | { type: 'close' }

interface Wire {
  /** Breaker name. */
  n: string
  /** 'o' (open) or 'c' (close). */
  t: 'o' | 'c'
  /** Open duration, ms. */
  ms?: number
  /** Origin hub id (an instance ignores its own messages). */
  o: string
}

export function encodeMessage(name: string, origin: string, message: HubMessage): string {
  const wire: Wire =
    message.type === 'open' ? { n: name, t: 'o', ms: message.ms, o: origin } : { n: name, t: 'c', o: origin }
  return JSON.stringify(wire)
}

/** Parses a message; anything malformed (another program on the channel) yields undefined. */
export function decodeMessage(
  raw: string,
): { name: string; origin: string; message: HubMessage } | undefined {
  let wire: Partial<Wire>
  try {
    wire = JSON.parse(raw) as Partial<Wire>
  } catch {
    return undefined
  }
  if (typeof wire !== 'object' || wire === null) return undefined
  if (typeof wire.n !== 'string' || typeof wire.o !== 'string') return undefined
  if (wire.t === 'c') return { name: wire.n, origin: wire.o, message: { type: 'close' } }
  if (wire.t === 'o' && typeof wire.ms === 'number' && wire.ms > 0)
    return { name: wire.n, origin: wire.o, message: { type: 'open', ms: wire.ms } }
  return undefined
}
