/**
 * The known key a misspelt one most likely meant, or undefined when none is close:
 * the smallest edit distance, ignoring case, within a third of the longer name (at
 * least 1), so `gracee` finds `grace` and `timout` finds `timeoutMs` but `zzz` finds nothing.
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
    if (distance <= allowed && distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

/** Levenshtein distance with one reused row (option names are short). */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length]!
}

/** The message part shared by construction-time and per-call checks of an unknown key. */
export function unknownKeyHint(key: string, known: Iterable<string>): string {
  const suggestion = closestKey(key, known)
  if (suggestion !== undefined) return `unknown option; did you mean "${suggestion}"?`
  return `unknown option (known: ${[...known].join(', ')})`
}
