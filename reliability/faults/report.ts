import { classify, KNOWN_FINDINGS } from './findings.js'

/** What one fault did to the service. */
export interface FaultResult {
  fault: string
  requests: number
  /** Every answer that was not a success: clean refusals included. */
  errors: number
  /** 429/503 with Retry-After and problem+json. */
  clean: number
  /** Connections closed under a request (a killed worker). */
  resets: number
  p99FaultMs: number
  /** From the end of the fault until the service works again; undefined if it never did. */
  recoveryMs: number | undefined
  recoveryBoundMs: number
  /** Acknowledged items (profiles, reports, analytics events) not found afterwards. */
  lost: number
  /** Broken promises; empty when the fault was handled as promised. */
  broken: string[]
}

function classifyRow(result: FaultResult): string {
  const { known, unknown } = classify(result.fault, result.broken)
  if (unknown.length > 0) return 'BROKEN'
  return `known: ${[...known.keys()].map((id) => `#${id}`).join(', ')}`
}

/** Prints the fault table in Markdown, so it pastes into the README as is. */
export function printTable(results: FaultResult[]): void {
  const rows = results.map((r) => [
    r.fault,
    String(r.requests),
    `${r.errors} (${r.clean} clean${r.resets > 0 ? `, ${r.resets} resets` : ''})`,
    `${r.p99FaultMs} ms`,
    r.recoveryMs === undefined
      ? 'never'
      : `${(r.recoveryMs / 1000).toFixed(1)} s (≤ ${r.recoveryBoundMs / 1000} s)`,
    String(r.lost),
    r.broken.length === 0 ? 'kept' : classifyRow(r),
  ])
  const header = ['fault', 'requests', 'errors', 'p99 during fault', 'recovery', 'lost items', 'promises']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`
  console.log(`\n${line(header)}`)
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const row of rows) console.log(line(row))
}

/** Collapses repeated lines into one with a count, so a fault's list stays readable. */
export function dedupe(lines: string[]): string[] {
  const counts = new Map<string, number>()
  for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1)
  return [...counts].map(([line, count]) => (count > 1 ? `${line} x${count}` : line))
}

/**
 * Prints each fault's broken promises, known findings apart, and the findings that did
 * not reproduce; returns how many faults broke a promise no finding excuses.
 */
export function printVerdicts(results: FaultResult[]): number {
  let failures = 0
  const reproduced = new Set<number>()
  for (const result of results) {
    const { known, unknown } = classify(result.fault, result.broken)
    for (const [id, lines] of known) {
      reproduced.add(id)
      console.log(`\nKNOWN (FINDINGS.md #${id}) under "${result.fault}":`)
      for (const line of lines.slice(0, 5)) console.log(`  - ${line}`)
    }
    if (unknown.length > 0) {
      failures++
      console.log(`\nBROKEN PROMISES under "${result.fault}":`)
      for (const line of unknown.slice(0, 12)) console.log(`  - ${line}`)
    }
  }
  for (const finding of KNOWN_FINDINGS) {
    if (!reproduced.has(finding.id))
      console.log(
        `\nFINDINGS.md #${finding.id} did not reproduce this run (${finding.summary}); remove it from faults/findings.ts once fixed.`,
      )
  }
  return failures
}
