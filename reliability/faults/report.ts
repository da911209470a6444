import { classify } from './findings.js'

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
