import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname } from 'node:path'

export interface TaskResult {
  name: string
  /** Median ops/s over the rounds. */
  opsPerSec: number
  p50Ms?: number
  p99Ms?: number
  /** Median ops/s divided by the baseline's median ops/s. */
  ratio: number
  /** ops/s of each round, in order. */
  rounds: number[]
  notes?: Record<string, string | number>
}

export interface TargetResult {
  task: string
  against: string
  atLeast: number
  ratio: number
  met: boolean
}

export interface GroupResult {
  name: string
  baseline: string
  tasks: TaskResult[]
  targets: TargetResult[]
  notes?: string[]
}

export interface SuiteResult {
  name: string
  ranAt: string
  skipped?: string
  error?: string
  groups: GroupResult[]
}

export interface ResultsFile {
  updatedAt: string
  machine: { node: string; cpu: string; cores: number; platform: string }
  suites: Record<string, SuiteResult>
}

export function machine(): ResultsFile['machine'] {
  const cpu = cpus()
  return {
    node: process.version,
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    platform: process.platform,
  }
}

/** Merges this run's suites into the results file, so `pnpm bench cache` updates only the cache entry. */
export function writeResults(path: string, suites: SuiteResult[]): ResultsFile {
  let file: ResultsFile = { updatedAt: '', machine: machine(), suites: {} }
  if (existsSync(path)) {
    try {
      file = JSON.parse(readFileSync(path, 'utf8')) as ResultsFile
    } catch {
      // A corrupt results file is replaced, never fatal.
    }
  }
  file.updatedAt = new Date().toISOString()
  file.machine = machine()
  for (const suite of suites) file.suites[suite.name] = suite
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`)
  return file
}

export function formatOps(ops: number): string {
  if (ops >= 1e6) return `${(ops / 1e6).toFixed(2)} M`
  if (ops >= 1e3) return `${(ops / 1e3).toFixed(1)} k`
  return ops.toFixed(1)
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-'
  if (ms < 0.001) return `${(ms * 1e6).toFixed(0)} ns`
  if (ms < 1) return `${(ms * 1e3).toFixed(1)} µs`
  return `${ms.toFixed(2)} ms`
}

function notesText(notes: Record<string, string | number> | undefined): string {
  if (!notes) return ''
  return Object.entries(notes)
    .map(([key, value]) => `${key}=${typeof value === 'number' ? Number(value.toPrecision(4)) : value}`)
    .join(', ')
}

/** The rows of one group's table: task, ops/s, p50, p99, ratio, rounds. */
export function groupRows(group: GroupResult): string[][] {
  return group.tasks.map((task) => [
    task.name === group.baseline ? `${task.name} (baseline)` : task.name,
    `${formatOps(task.opsPerSec)}/s`,
    formatMs(task.p50Ms),
    formatMs(task.p99Ms),
    `${task.ratio.toFixed(2)}x`,
    task.rounds.map(formatOps).join(' / '),
    notesText(task.notes),
  ])
}

export const HEADERS = ['task', 'ops/s (median)', 'p50', 'p99', 'ratio', 'rounds', 'notes']

export function targetLine(target: TargetResult): string {
  return `${target.met ? 'MET ' : 'MISS'} ${target.task} >= ${target.atLeast}x ${target.against}: ${target.ratio.toFixed(2)}x`
}

/** Renders the whole results file as the Markdown report. */
export function markdown(file: ResultsFile): string {
  const lines = [
    '# Headroom benchmark results',
    '',
    `Updated ${file.updatedAt} on ${file.machine.cpu} (${file.machine.cores} cores), Node ${file.machine.node}.`,
    'Each figure is the median of the rounds; ratios compare medians measured in the same run.',
    '',
  ]
  for (const suite of Object.values(file.suites).sort((a, b) => a.name.localeCompare(b.name))) {
    lines.push(`## ${suite.name}`, '', `Ran ${suite.ranAt}.`, '')
    if (suite.skipped) lines.push(`Skipped: ${suite.skipped}`, '')
    if (suite.error) lines.push(`**Failed:** ${suite.error}`, '')
    for (const group of suite.groups) {
      lines.push(
        `### ${group.name}`,
        '',
        `| ${HEADERS.join(' | ')} |`,
        `|${HEADERS.map(() => '---').join('|')}|`,
      )
      for (const row of groupRows(group)) lines.push(`| ${row.join(' | ')} |`)
      lines.push('')
      for (const target of group.targets) lines.push(`- ${targetLine(target)}`)
      for (const note of group.notes ?? []) lines.push(`- ${note}`)
      if (group.targets.length > 0 || group.notes?.length) lines.push('')
    }
  }
  return `${lines.join('\n')}\n`
}

/** Pads columns for the terminal. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  )
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}
