/**
 * The known key a misspelt one most likely meant, or undefined when none is close:
 * the smallest edit distance, ignoring case, among the keys within a third of the longer
 * name (at least 1) or that the key abbreviates (same first letter, its letters in order),
 * so `gracee` finds `grace`, `timout` finds `timeoutMs`, `opts` finds `options`, and `zzz`
 * finds nothing.
 *
 * @example
 * closestKey('gracee', ['ttl', 'grace']) // 'grace'
 */
export function closestKey(key: string, known: Iterable<string>): string | undefined {
  const wanted = key.toLowerCase()
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of known) {
    const distance = editDistance(wanted, candidate.toLowerCase())
    const allowed = Math.max(1, Math.floor(Math.max(wanted.length, candidate.length) / 3))
    const close = distance <= allowed || abbreviates(wanted, candidate.toLowerCase())
    if (close && distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

/** `opts` abbreviates `options`: at least 3 letters, the same first one, all in order. */
function abbreviates(short: string, long: string): boolean {
  if (short.length < 3 || short.length >= long.length || short[0] !== long[0]) return false
  let at = 0
  for (const char of long) if (char === short[at]) at++
  return at === short.length
}

/** Edit distance counting a swap of two neighbours as one edit (`wirte` is 1 from `write`). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  }
  return d[a.length]![b.length]!
}

/** The message part shared by construction-time and per-call checks of an unknown key. */
export function unknownKeyHint(key: string, known: Iterable<string>): string {
  const suggestion = closestKey(key, known)
  if (suggestion !== undefined) return `unknown option; did you mean "${suggestion}"?`
  return `unknown option (known: ${[...known].join(', ')})`
}
