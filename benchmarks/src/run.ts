/**
 * `pnpm bench [filter...]`: runs every suite in `benchmarks/suites` whose name
 * contains a filter (all when none), each hot path beside its peers in the same
 * run, prints a table per group with ops/s, p50/p99 and the ratio to the peer, and
 * writes `results/latest.json` and `results/latest.md`.
 *
 * Environment: BENCH_TIME_MS (timed ms per task per round, default 1000),
 * BENCH_ROUNDS (default 3; the median is reported).
 */
import { readdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { postgresAnswers, redisAnswers } from '@headroom/testing'
import { measureRound, type TaskRound, verifyGroup } from './measure.js'
import {
  type GroupResult,
  groupRows,
  HEADERS,
  markdown,
  type SuiteResult,
  type TargetResult,
  table,
  targetLine,
  writeResults,
} from './report.js'
import type { BenchGroup, BenchSuite } from './suite.js'

const here = dirname(fileURLToPath(import.meta.url))
const suitesDir = join(here, '..', 'suites')
const resultsDir = join(here, '..', 'results')

const timeMs = Number(process.env.BENCH_TIME_MS ?? 1000)
const roundsCount = Number(process.env.BENCH_ROUNDS ?? 3)

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

async function loadSuites(filters: string[]): Promise<BenchSuite[]> {
  const files = readdirSync(suitesDir)
    .filter((file) => file.endsWith('.bench.ts'))
    .sort()
  const suites: BenchSuite[] = []
  for (const file of files) {
    const module = (await import(pathToFileURL(join(suitesDir, file)).href)) as { default: BenchSuite }
    const suite = module.default
    if (
      filters.length === 0 ||
      filters.some((filter) => suite.name.includes(filter) || file.includes(filter))
    ) {
      suites.push(suite)
    }
  }
  return suites
}

async function missingService(suite: BenchSuite): Promise<string | undefined> {
  for (const service of suite.requires ?? []) {
    if (service === 'redis' && !(await redisAnswers())) return 'no Redis answers at 127.0.0.1:6379'
    if (service === 'postgres' && !(await postgresAnswers())) return 'no Postgres answers at 127.0.0.1:5432'
  }
  return undefined
}

async function runGroup(group: BenchGroup): Promise<GroupResult> {
  if (!(group.baseline in group.tasks))
    throw new Error(`Group "${group.name}": baseline "${group.baseline}" is not a task`)
  await verifyGroup(group)
  const names = Object.keys(group.tasks)
  const perTask = new Map<string, TaskRound[]>(names.map((name) => [name, []]))
  for (let round = 0; round < roundsCount; round++) {
    // Rotate the order each round so no task always runs first (or last) on a warm machine.
    const order = names.map((_, i) => names[(i + round) % names.length]!)
    const results = await measureRound(group, order, { timeMs, warmupMs: Math.min(250, timeMs / 4) })
    for (const [name, result] of results) perTask.get(name)!.push(result)
  }
  await verifyGroup(group)

  const summary = (name: string) => {
    const rounds = perTask.get(name)!
    const optionalMedian = (values: (number | undefined)[]) => {
      const present = values.filter((v): v is number => v !== undefined)
      return present.length ? median(present) : undefined
    }
    return {
      name,
      opsPerSec: median(rounds.map((r) => r.opsPerSec)),
      p50Ms: optionalMedian(rounds.map((r) => r.p50Ms)),
      p99Ms: optionalMedian(rounds.map((r) => r.p99Ms)),
      rounds: rounds.map((r) => r.opsPerSec),
      notes: rounds.at(-1)?.notes,
    }
  }
  const tasks = names.map(summary)
  const opsOf = (name: string) => tasks.find((task) => task.name === name)!.opsPerSec
  const baselineOps = opsOf(group.baseline)
  const targets: TargetResult[] = (group.targets ?? []).map((target) => {
    const against = target.against ?? group.baseline
    const ratio = opsOf(target.task) / opsOf(against)
    return { task: target.task, against, atLeast: target.atLeast, ratio, met: ratio >= target.atLeast }
  })
  return {
    name: group.name,
    baseline: group.baseline,
    tasks: tasks.map((task) => ({ ...task, ratio: task.opsPerSec / baselineOps })),
    targets,
    notes: group.notes,
  }
}

async function runSuite(suite: BenchSuite): Promise<SuiteResult> {
  const result: SuiteResult = { name: suite.name, ranAt: new Date().toISOString(), groups: [] }
  const missing = await missingService(suite)
  if (missing) {
    console.warn(`\n${'!'.repeat(72)}\n!! SKIPPED suite "${suite.name}": ${missing}\n${'!'.repeat(72)}`)
    result.skipped = missing
    return result
  }
  console.log(`\n=== ${suite.name} ===`)
  try {
    const groups = await suite.setup()
    for (const group of groups) {
      const groupResult = await runGroup(group)
      result.groups.push(groupResult)
      console.log(`\n${group.name}\n${table(HEADERS, groupRows(groupResult))}`)
      for (const target of groupResult.targets) console.log(targetLine(target))
      for (const note of group.notes ?? []) console.log(`note: ${note}`)
    }
  } catch (error) {
    result.error = error instanceof Error ? (error.stack ?? error.message) : String(error)
    console.error(`\n!! Suite "${suite.name}" FAILED: ${result.error}`)
  } finally {
    await suite.teardown?.()
  }
  return result
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2).filter((arg) => arg !== '--')
  const suites = await loadSuites(filters)
  if (suites.length === 0) {
    console.error(`No benchmark suite matches ${filters.join(', ')}`)
    process.exitCode = 1
    return
  }
  console.log(
    `Headroom benchmarks: ${suites.map((s) => s.name).join(', ')} (${roundsCount} rounds x ${timeMs} ms)`,
  )
  const results: SuiteResult[] = []
  for (const suite of suites) results.push(await runSuite(suite))
  const file = writeResults(join(resultsDir, 'latest.json'), results)
  writeFileSync(join(resultsDir, 'latest.md'), markdown(file))
  console.log(`\nWrote benchmarks/results/latest.json and latest.md`)
  if (results.some((r) => r.error)) process.exitCode = 1
}

await main()
process.exit()
