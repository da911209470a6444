/**
 * The @headroom/pool evaluation against a real Postgres whose throughput has a knee.
 *
 *   cd benchmarks && npx tsx pool-eval/run.ts
 *
 * 1. Sweeps static pg.Pool sizes under a closed loop of 48 callers.
 * 2. Runs the adaptive sizer from a pool too small (1) and too large (32), each between
 *    two re-measurements of the best static size (interleaved, so machine noise hits
 *    both alike), and reports steady-state throughput, p99 and the time to converge.
 * 3. Offers 2x the best static throughput as an open loop, to a plain pool and to the
 *    limiter + sizer, and reports p99 second by second and what was shed.
 * Writes results/pool-eval.json, results/pool-eval.md and the SVG plots.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { postgresAnswers } from '@headroom/testing'
import {
  type AdaptiveRun,
  type OverloadRun,
  runAdaptive,
  runOverload,
  runStatic,
  type StaticPoint,
} from './scenarios.js'
import { lineChart, steps } from './svg.js'
import { createEvalDatabase } from './workload.js'

const here = dirname(fileURLToPath(import.meta.url))
const resultsDir = join(here, 'results')

export interface EvalOptions {
  sizes: number[]
  sweepMs: number
  referenceMs: number
  settleMs: number
  measureMs: number
  overloadMs: number
  starts: number[]
}

export const FULL: EvalOptions = {
  sizes: [1, 2, 4, 6, 8, 10, 12, 16, 24, 32],
  sweepMs: 2500,
  referenceMs: 6000,
  settleMs: 10_000,
  measureMs: 8000,
  overloadMs: 12_000,
  starts: [1, 32],
}

export interface EvalResult {
  date: string
  sweep: StaticPoint[]
  best: StaticPoint
  band: { from: number; to: number }
  runs: {
    start: number
    adaptive: AdaptiveRun
    reference: { opsPerSec: number; p99: number }
    throughputRatio: number
    p99Ratio: number
    convergedAtS: number | undefined
    settled: { t: number | undefined; size: number }
  }[]
  overload: OverloadRun[]
}

function average(size: number, points: StaticPoint[]): StaticPoint {
  const mean = (pick: (p: StaticPoint) => number) => points.reduce((a, p) => a + pick(p), 0) / points.length
  return {
    size,
    opsPerSec: mean((p) => p.opsPerSec),
    p50: mean((p) => p.p50),
    p99: mean((p) => p.p99),
    ops: mean((p) => p.ops),
    ms: mean((p) => p.ms),
    errors: mean((p) => p.errors),
  }
}

/** Sizes within 10 % of the best throughput, widened halfway to the neighbouring swept sizes. */
export function goodBand(sweep: StaticPoint[]): { from: number; to: number } {
  const best = Math.max(...sweep.map((p) => p.opsPerSec))
  const sizes = sweep.map((p) => p.size)
  const good = sweep.filter((p) => p.opsPerSec >= 0.9 * best).map((p) => p.size)
  const lo = Math.min(...good)
  const hi = Math.max(...good)
  const below = sizes.filter((s) => s < lo).at(-1)
  const above = sizes.find((s) => s > hi)
  return {
    from: below === undefined ? lo : Math.ceil((below + lo) / 2),
    to: above === undefined ? hi : Math.floor((hi + above) / 2),
  }
}

/**
 * When the sizer settled: the first time after which the size stays within
 * +/- max(2, 25 %) of the median size of the run's second half. Judged on the sizer's
 * own trajectory, since on a noisy host the static sweep's "good" band moves between runs.
 */
export function settledAt(sizes: { t: number; size: number }[]): { t: number | undefined; size: number } {
  const end = sizes.at(-1)?.t ?? 0
  const late = sizes
    .filter((p) => p.t >= end / 2)
    .map((p) => p.size)
    .sort((a, b) => a - b)
  const median = late[late.length >> 1] ?? 0
  const slack = Math.max(2, median * 0.25)
  return { t: convergedAt(sizes, { from: median - slack, to: median + slack }), size: median }
}

/** The first time after which the size stays inside the band for the rest of the run. */
export function convergedAt(sizes: { t: number; size: number }[], band: { from: number; to: number }) {
  let since: number | undefined
  for (const { t, size } of sizes) {
    const inside = size >= band.from && size <= band.to
    if (inside && since === undefined) since = t
    if (!inside) since = undefined
  }
  return since
}

export async function evaluate(
  options: EvalOptions,
  log: (line: string) => void = console.log,
): Promise<EvalResult> {
  const db = await createEvalDatabase()
  try {
    // Two passes, up then down, averaged: the machine's load drifts, and one pass would
    // favour whichever sizes ran in a quiet moment.
    const passes = new Map<number, StaticPoint[]>()
    for (const order of [options.sizes, [...options.sizes].reverse()]) {
      for (const size of order) {
        const point = await runStatic(db.url, size, options.sweepMs)
        passes.set(size, [...(passes.get(size) ?? []), point])
        log(`static ${size}: ${point.opsPerSec.toFixed(0)} tx/s, p99 ${point.p99.toFixed(0)} ms`)
      }
    }
    const sweep: StaticPoint[] = options.sizes.map((size) => average(size, passes.get(size)!))
    const best = sweep.reduce((a, b) => (b.opsPerSec > a.opsPerSec ? b : a))
    const band = goodBand(sweep)
    log(`best static size ${best.size}; sizes within 10 %: ${band.from}..${band.to}`)

    const runs: EvalResult['runs'] = []
    let before = await runStatic(db.url, best.size, options.referenceMs)
    for (const start of options.starts) {
      const adaptive = await runAdaptive(db.url, {
        initial: start,
        algorithm: 'vegas',
        settleMs: options.settleMs,
        measureMs: options.measureMs,
      })
      const after = await runStatic(db.url, best.size, options.referenceMs)
      const reference = {
        opsPerSec: (before.opsPerSec + after.opsPerSec) / 2,
        p99: (before.p99 + after.p99) / 2,
      }
      const run = {
        start,
        adaptive,
        reference,
        throughputRatio: adaptive.steady.opsPerSec / reference.opsPerSec,
        p99Ratio: adaptive.steady.p99 / reference.p99,
        convergedAtS: convergedAt(adaptive.sizes, band),
        settled: settledAt(adaptive.sizes),
      }
      runs.push(run)
      log(
        `adaptive from ${start}: ${adaptive.steady.opsPerSec.toFixed(0)} tx/s (${(run.throughputRatio * 100).toFixed(0)} % of static ${best.size}), ` +
          `p99 ${adaptive.steady.p99.toFixed(0)} ms (${run.p99Ratio.toFixed(2)}x), settled at ${run.settled.t?.toFixed(1) ?? 'never'} s on ${run.settled.size}, ` +
          `in the static band at ${run.convergedAtS?.toFixed(1) ?? 'never'} s`,
      )
      before = after
    }

    const rate = Math.round(2 * before.opsPerSec)
    const overload: OverloadRun[] = []
    for (const limited of [false, true]) {
      const run = await runOverload(db.url, {
        label: limited ? `limiter + sizer` : `plain pg.Pool (max ${best.size})`,
        ratePerSec: rate,
        durationMs: options.overloadMs,
        staticSize: best.size,
        limited,
      })
      overload.push(run)
      log(
        `overload ${run.label}: offered ${rate}/s, completed ${run.completedPerSec.toFixed(0)}/s, shed ${run.shed}, ` +
          `p99 by second ${run.p99BySecond.map((v) => v.toFixed(0)).join(' ')}`,
      )
    }
    return { date: new Date().toISOString(), sweep, best, band, runs, overload }
  } finally {
    await new Promise((resolve) => setTimeout(resolve, 200))
    await db.close()
  }
}

export function report(result: EvalResult): string {
  const lines = [
    `Measured ${result.date.slice(0, 16).replace('T', ' ')} UTC on a shared, noisy 2-core machine (Postgres 15 on the same host).`,
    '',
    '| static pool size (mean of 2 passes) | tx/s | p50 ms | p99 ms |',
    '| ---: | ---: | ---: | ---: |',
    ...result.sweep.map(
      (p) =>
        `| ${p.size}${p.size === result.best.size ? ' (best)' : ''} | ${p.opsPerSec.toFixed(0)} | ${p.p50.toFixed(0)} | ${p.p99.toFixed(0)} |`,
    ),
    '',
    `| adaptive (Vegas) started at | tx/s | vs best static (interleaved) | p99 ms | p99 vs best static | settled (size) at | inside ${result.band.from}..${result.band.to} from |`,
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...result.runs.map(
      (r) =>
        `| ${r.start} | ${r.adaptive.steady.opsPerSec.toFixed(0)} | ${(r.throughputRatio * 100).toFixed(0)} % of ${r.reference.opsPerSec.toFixed(0)} | ${r.adaptive.steady.p99.toFixed(0)} | ${r.p99Ratio.toFixed(2)}x of ${r.reference.p99.toFixed(0)} | ${r.settled.t === undefined ? 'never' : `${r.settled.t.toFixed(1)} s (${r.settled.size})`} | ${r.convergedAtS === undefined ? 'never' : `${r.convergedAtS.toFixed(1)} s`} |`,
    ),
    '',
    `| 2x overload (open loop, ${result.overload[0]?.offeredPerSec ?? 0} tx/s offered) | completed tx/s | shed | p99 ms, second by second |`,
    '| --- | ---: | ---: | --- |',
    ...result.overload.map(
      (o) =>
        `| ${o.label} | ${o.completedPerSec.toFixed(0)} | ${o.shed} | ${o.p99BySecond.map((v) => v.toFixed(0)).join(' ')} |`,
    ),
  ]
  return `${lines.join('\n')}\n`
}

export function plots(result: EvalResult): { limit: string; overload: string } {
  const duration = Math.max(...result.runs.map((r) => r.adaptive.sizes.at(-1)?.t ?? 0))
  const colors = ['#1f77b4', '#d62728', '#9467bd']
  const limit = lineChart({
    title: 'Pool size chosen by createPoolSizer (Vegas) on the contended workload',
    xLabel: 'seconds since the sizer started',
    yLabel: 'pool max (connections)',
    xMax: Math.ceil(duration),
    yMax: Math.max(36, ...result.runs.map((r) => r.start + 4)),
    band: {
      ...result.band,
      label: `static sizes within 10 % of the best (${result.band.from}..${result.band.to})`,
    },
    series: [
      ...result.runs.map((r, i) => ({
        label: `adaptive, started at ${r.start}`,
        color: colors[i % colors.length]!,
        points: steps(r.adaptive.sizes),
      })),
      {
        label: `best static size (${result.best.size})`,
        color: '#2ca02c',
        dashed: true,
        points: [
          { x: 0, y: result.best.size },
          { x: Math.ceil(duration), y: result.best.size },
        ],
      },
    ],
  })
  const seconds = Math.max(...result.overload.map((o) => o.p99BySecond.length))
  const overload = lineChart({
    title: 'p99 latency under 2x overload, per second of arrivals',
    xLabel: 'second of the run',
    yLabel: 'p99 of completed transactions (ms)',
    xMax: seconds,
    yMax: Math.max(...result.overload.flatMap((o) => o.p99BySecond)) * 1.1,
    series: result.overload.map((o, i) => ({
      label: o.label,
      color: colors[i % colors.length]!,
      points: o.p99BySecond.map((v, s) => ({ x: s + 1, y: v })),
    })),
  })
  return { limit, overload }
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]
if (isMain) {
  if (!(await postgresAnswers())) {
    console.error('No Postgres answers at 127.0.0.1:5432: the evaluation needs one.')
    process.exit(1)
  }
  // `--from-json` redraws the report and plots from the last run's results.
  const result: EvalResult = process.argv.includes('--from-json')
    ? JSON.parse(readFileSync(join(resultsDir, 'pool-eval.json'), 'utf8'))
    : await evaluate(FULL)
  for (const run of result.runs) {
    run.settled = settledAt(run.adaptive.sizes)
    run.convergedAtS = convergedAt(run.adaptive.sizes, result.band)
  }
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(join(resultsDir, 'pool-eval.json'), `${JSON.stringify(result, null, 2)}\n`)
  writeFileSync(join(resultsDir, 'pool-eval.md'), report(result))
  const { limit, overload } = plots(result)
  writeFileSync(join(resultsDir, 'limit-over-time.svg'), limit)
  writeFileSync(join(resultsDir, 'overload-p99.svg'), overload)
  console.log(`\n${report(result)}`)
}
