/**
 * The limiter's algorithms under sustained overload, against a real Postgres with a
 * hidden capacity (advisory-lock slots: latency flat up to the capacity, growing with the
 * queue beyond it; see packages/pool/test/hidden-capacity.ts).
 *
 *   cd benchmarks && npx tsx pool-eval/overload.ts
 *
 * Three scenarios, each run with every algorithm (limiter defaults otherwise) and with a
 * static limit at the pool's max: sustained overload (3x), capacity halving mid-run,
 * capacity doubling mid-run. Writes results/overload.json, results/overload.md and, per
 * scenario, an SVG of the limit over time and one of p99 over time.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createAdaptiveLimiter, isLimitExceededError, type LimitAlgorithmName } from '@headroom/pool'
import { postgresAnswers } from '@headroom/testing'
import pg from 'pg'
import { createHiddenCapacity, openLoop, serviceSeconds } from '../../packages/pool/test/hidden-capacity.js'
import { lineChart, steps } from './svg.js'

const here = dirname(fileURLToPath(import.meta.url))
const resultsDir = join(here, 'results')

const SERVICE_MS = 40
const NOISE = 0.3
const POOL_MAX = 32
const DURATION_MS = 20_000
const STEP_AT_MS = 10_000
/** Limits and throughput are judged after this (the first probe and the fall from `initial`). */
const SETTLE_MS = 4_000

export interface Scenario {
  name: string
  title: string
  /** Capacity before and after STEP_AT_MS. */
  before: number
  after: number
  ratePerSec: number
}

const perSec = (capacity: number) => (capacity / SERVICE_MS) * 1000

export const SCENARIOS: Scenario[] = [
  { name: 'sustained', title: 'sustained overload (3x)', before: 4, after: 4, ratePerSec: 3 * perSec(4) },
  {
    name: 'halves',
    title: 'capacity halves at 10 s (8 -> 4)',
    before: 8,
    after: 4,
    ratePerSec: 2 * perSec(8),
  },
  {
    name: 'doubles',
    title: 'capacity doubles at 10 s (4 -> 8)',
    before: 4,
    after: 8,
    ratePerSec: 1.5 * perSec(8),
  },
]

export const CONFIGS: { label: string; algorithm: LimitAlgorithmName | 'static' }[] = [
  { label: 'minrtt (default)', algorithm: 'minrtt' },
  { label: 'gradient2', algorithm: 'gradient2' },
  { label: 'vegas', algorithm: 'vegas' },
  { label: 'aimd', algorithm: 'aimd' },
  { label: `static ${POOL_MAX} (pool max)`, algorithm: 'static' },
]

export interface OverloadEvalRun {
  scenario: string
  label: string
  limits: { t: number; limit: number }[]
  p99BySecond: number[]
  completedBySecond: number[]
  shed: number
  errors: number
  /** Share of limit samples within 0.6x-2x of the capacity, after settling (each phase). */
  inBand: number
  /** Median limit / capacity after settling, per phase. */
  medianRatio: number[]
  /** Completed per second / capacity's throughput, after settling, per phase. */
  used: number[]
  p99: number
}

const capacityAt = (scenario: Scenario, t: number) => (t < STEP_AT_MS ? scenario.before : scenario.after)

function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

async function runOne(
  url: string,
  scenario: Scenario,
  config: (typeof CONFIGS)[number],
  onSecond: (second: number) => void,
) {
  const pool = new pg.Pool({ connectionString: url, max: POOL_MAX })
  pool.on('error', () => {})
  const limiter =
    config.algorithm === 'static'
      ? createAdaptiveLimiter({ algorithm: 'aimd', min: POOL_MAX, max: POOL_MAX, initial: POOL_MAX })
      : createAdaptiveLimiter({ algorithm: config.algorithm, max: POOL_MAX })
  try {
    await Promise.all(Array.from({ length: POOL_MAX }, () => pool.query('SELECT 1')))
    return await openLoop({
      ratePerSec: scenario.ratePerSec,
      durationMs: DURATION_MS,
      call: () => limiter.run(() => pool.query('SELECT work($1)', [serviceSeconds(SERVICE_MS, NOISE)])),
      isShed: isLimitExceededError,
      watch: () => limiter.limit,
      onSecond,
    })
  } finally {
    limiter.close()
    await pool.end()
  }
}

export async function evaluateOverload(
  log: (line: string) => void = console.log,
): Promise<OverloadEvalRun[]> {
  const runs: OverloadEvalRun[] = []
  for (const scenario of SCENARIOS) {
    const backend = await createHiddenCapacity(scenario.before)
    try {
      for (const config of CONFIGS) {
        await backend.setCapacity(scenario.before)
        // The step on the open loop's own clock (connections are opened before it starts).
        const result = await runOne(backend.url, scenario, config, (second) => {
          if (second * 1000 === STEP_AT_MS) void backend.setCapacity(scenario.after)
        })
        const seconds = Math.floor(DURATION_MS / 1000)
        const bySecond = (s: number) => result.calls.filter((c) => c.t >= s * 1000 && c.t < (s + 1) * 1000)
        const phases =
          scenario.before === scenario.after
            ? [[SETTLE_MS, DURATION_MS]]
            : [
                [SETTLE_MS, STEP_AT_MS],
                [STEP_AT_MS + SETTLE_MS, DURATION_MS],
              ]
        const limits = result.samples.map((s) => ({ t: s.t / 1000, limit: s.value }))
        const judged = result.samples.filter((s) => phases.some(([from, to]) => s.t >= from! && s.t < to!))
        const inside = judged.filter((s) => {
          const capacity = capacityAt(scenario, s.t)
          return s.value >= 0.6 * capacity && s.value <= 2 * capacity
        })
        const run: OverloadEvalRun = {
          scenario: scenario.name,
          label: config.label,
          limits,
          p99BySecond: Array.from({ length: seconds }, (_, s) =>
            quantile(
              bySecond(s).map((c) => c.latency),
              0.99,
            ),
          ),
          completedBySecond: Array.from({ length: seconds }, (_, s) => bySecond(s).length),
          shed: result.shed,
          errors: result.errors,
          inBand: inside.length / Math.max(1, judged.length),
          medianRatio: phases.map(([from, to]) =>
            quantile(
              result.samples
                .filter((s) => s.t >= from! && s.t < to!)
                .map((s) => s.value / capacityAt(scenario, s.t)),
              0.5,
            ),
          ),
          used: phases.map(([from, to]) => {
            const n = result.calls.filter((c) => c.t >= from! && c.t < to!).length
            return n / ((to! - from!) / 1000) / perSec(capacityAt(scenario, from!))
          }),
          p99: quantile(
            result.calls.filter((c) => c.t >= SETTLE_MS).map((c) => c.latency),
            0.99,
          ),
        }
        runs.push(run)
        log(
          `${scenario.name} / ${config.label}: in band ${(run.inBand * 100).toFixed(0)} %, limit/capacity ${run.medianRatio.map((r) => r.toFixed(2)).join(' -> ')}, ` +
            `used ${run.used.map((u) => `${(u * 100).toFixed(0)} %`).join(' -> ')}, p99 ${run.p99.toFixed(0)} ms, shed ${run.shed}, errors ${run.errors}`,
        )
      }
    } finally {
      await backend.close()
    }
  }
  return runs
}

export function overloadReport(runs: OverloadEvalRun[], date: string, machine: string): string {
  const lines = [
    `Measured ${date.slice(0, 16).replace('T', ' ')} UTC on ${machine}. Backend: Postgres with a hidden capacity ` +
      `(advisory-lock slots, ${SERVICE_MS} ms lognormal service, CV ${NOISE}); a pg.Pool of ${POOL_MAX}; limiter defaults ` +
      `(maxWaitMs 100, congestedWaitMs 10) with each algorithm, or a static limit of ${POOL_MAX}. ${DURATION_MS / 1000} s per run, open loop; ` +
      `figures after the first ${SETTLE_MS / 1000} s of each phase.`,
  ]
  for (const scenario of SCENARIOS) {
    const two = scenario.before !== scenario.after
    lines.push(
      '',
      `${scenario.title}, ${scenario.ratePerSec} calls/s offered:`,
      '',
      `| limiter | limit within 0.6x-2x of capacity | median limit / capacity${two ? ' (before -> after)' : ''} | capacity used${two ? ' (before -> after)' : ''} | p99 ms | shed |`,
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      ...runs
        .filter((r) => r.scenario === scenario.name)
        .map(
          (r) =>
            `| ${r.label} | ${(r.inBand * 100).toFixed(0)} % | ${r.medianRatio.map((v) => `${v.toFixed(2)}x`).join(' -> ')} | ${r.used.map((u) => `${(u * 100).toFixed(0)} %`).join(' -> ')} | ${r.p99.toFixed(0)} | ${r.shed} |`,
        ),
    )
  }
  return `${lines.join('\n')}\n`
}

const COLORS = ['#1f77b4', '#d62728', '#9467bd', '#8c564b', '#2ca02c']

export function overloadPlots(runs: OverloadEvalRun[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const scenario of SCENARIOS) {
    const mine = runs.filter((r) => r.scenario === scenario.name)
    const xMax = DURATION_MS / 1000
    const capacityLine = (factor: number) => [
      { x: 0, y: scenario.before * factor },
      { x: STEP_AT_MS / 1000, y: scenario.before * factor },
      { x: STEP_AT_MS / 1000, y: scenario.after * factor },
      { x: xMax, y: scenario.after * factor },
    ]
    out[`overload-${scenario.name}-limit.svg`] = lineChart({
      title: `Concurrency limit, ${scenario.title}`,
      xLabel: 'seconds',
      yLabel: 'limit (calls in flight)',
      xMax,
      yMax: POOL_MAX + 2,
      series: [
        ...mine.map((r, i) => ({
          label: r.label,
          color: COLORS[i % COLORS.length]!,
          points: steps(r.limits.map((p) => ({ t: p.t, size: p.limit }))),
        })),
        { label: 'capacity', color: '#000', dashed: true, points: capacityLine(1) },
        { label: '2x capacity', color: '#999', dashed: true, points: capacityLine(2) },
      ],
    })
    out[`overload-${scenario.name}-p99.svg`] = lineChart({
      title: `p99 latency of admitted calls, ${scenario.title}`,
      xLabel: 'second of arrival',
      yLabel: 'p99 (ms)',
      xMax,
      yMax: Math.max(...mine.flatMap((r) => r.p99BySecond)) * 1.1,
      series: mine.map((r, i) => ({
        label: r.label,
        color: COLORS[i % COLORS.length]!,
        points: r.p99BySecond.map((v, s) => ({ x: s + 0.5, y: v })),
      })),
    })
  }
  return out
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]
if (isMain) {
  if (!(await postgresAnswers())) {
    console.error('No Postgres answers at 127.0.0.1:5432: the evaluation needs one.')
    process.exit(1)
  }
  const machine = process.env.HEADROOM_MACHINE ?? 'the shared 2-core machine'
  const saved = join(resultsDir, 'overload.json')
  const { date, runs }: { date: string; runs: OverloadEvalRun[] } = process.argv.includes('--from-json')
    ? JSON.parse(readFileSync(saved, 'utf8'))
    : { date: new Date().toISOString(), runs: await evaluateOverload() }
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(saved, `${JSON.stringify({ date, machine, runs }, null, 2)}\n`)
  const report = overloadReport(runs, date, machine)
  writeFileSync(join(resultsDir, 'overload.md'), report)
  for (const [file, svg] of Object.entries(overloadPlots(runs))) writeFileSync(join(resultsDir, file), svg)
  console.log(`\n${report}`)
}
