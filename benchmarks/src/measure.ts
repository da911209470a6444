import { Bench } from 'tinybench'
import type { BenchGroup, BenchTask, Measurement } from './suite.js'

export interface TaskRound {
  opsPerSec: number
  p50Ms?: number
  p99Ms?: number
  notes?: Record<string, string | number>
}

export interface MeasureOptions {
  /** Timed milliseconds per task per round. */
  timeMs: number
  warmupMs: number
}

interface NormalTask {
  fn?: () => unknown
  opsPerCall: number
  latencyDivisor: number
  measure?: () => Promise<Measurement>
}

function normalise(task: BenchTask): NormalTask {
  if (typeof task === 'function') return { fn: task, opsPerCall: 1, latencyDivisor: 1 }
  if ('measure' in task) return { measure: task.measure, opsPerCall: 1, latencyDivisor: 1 }
  const opsPerCall = task.opsPerCall ?? 1
  return { fn: task.fn, opsPerCall, latencyDivisor: task.concurrent ? 1 : opsPerCall }
}

/** Calls each per-call task a few times outside timing and runs the group's check on the results. */
export async function verifyGroup(group: BenchGroup): Promise<void> {
  for (const [name, task] of Object.entries(group.tasks)) {
    const { fn } = normalise(task)
    if (!fn) continue
    for (let i = 0; i < 3; i++) {
      const result = await fn()
      if (group.check) group.check(result, name)
    }
  }
}

/**
 * Runs one round of a group: every per-call task through tinybench (warm-up first,
 * every call awaited), in the order given, then every self-timed workload.
 */
export async function measureRound(
  group: BenchGroup,
  order: string[],
  options: MeasureOptions,
): Promise<Map<string, TaskRound>> {
  const rounds = new Map<string, TaskRound>()
  const bench = new Bench({ time: options.timeMs, warmupTime: options.warmupMs, warmup: true, throws: true })
  const perCall = new Map<string, NormalTask>()
  for (const name of order) {
    const normal = normalise(group.tasks[name]!)
    const { fn, measure } = normal
    if (measure) continue
    perCall.set(name, normal)
    bench.add(name, fn as () => unknown)
  }
  if (perCall.size > 0) {
    await bench.run()
    for (const task of bench.tasks) {
      const result = task.result as unknown as {
        state: string
        error?: unknown
        latency?: { p50: number; p99: number; mean: number }
        throughput?: { mean: number }
      }
      if (result.state !== 'completed' || !result.latency) {
        throw new Error(
          `Benchmark task "${task.name}" did not complete: ${String(result.error ?? result.state)}`,
        )
      }
      const { opsPerCall, latencyDivisor } = perCall.get(task.name)!
      rounds.set(task.name, {
        opsPerSec: (1000 / result.latency.mean) * opsPerCall,
        p50Ms: result.latency.p50 / latencyDivisor,
        p99Ms: result.latency.p99 / latencyDivisor,
      })
    }
  }
  for (const name of order) {
    const { measure } = normalise(group.tasks[name]!)
    if (!measure) continue
    const m = await measure()
    if (!(m.ops > 0) || !(m.ms > 0))
      throw new Error(`Workload "${name}" reported no work (ops=${m.ops}, ms=${m.ms})`)
    rounds.set(name, { opsPerSec: (m.ops / m.ms) * 1000, p50Ms: m.p50, p99Ms: m.p99, notes: m.notes })
  }
  return rounds
}
