/** A short description of a target for an error message (never the whole object). */
export function describeTarget(target: unknown): string {
  if (typeof target === 'string') return JSON.stringify(target)
  if (typeof target === 'number') return String(target)
  return `(${typeof target === 'object' && target !== null ? target.constructor?.name || 'object' : typeof target})`
}
