import type { Clock, Logger, TimerHandle } from '@headroom/core'
import type { StatusReason } from '../status/change.js'
import { type HealthStatus, worse } from '../status/status.js'

/**
 * A dependency check: resolve (with anything but `false`) when the dependency works;
 * throw, reject or resolve `false` when it does not. The signal aborts on timeout.
 */
export type CheckFn = (signal: AbortSignal) => unknown

/** A dependency check with its own settings. */
export interface CheckDefinition {
  check: CheckFn
  /** Time after which the check counts as failed, ms. @default the monitor's `checkTimeoutMs` */
  timeoutMs?: number
  /** Time between two runs, ms. @default the monitor's `checkIntervalMs` */
  intervalMs?: number
  /**
   * A failure makes this instance unready (`/readyz` answers 503). Declare critical
   * only what a restart of this instance, or another instance, would fix: its own
   * resources, or no database answering at all. A shared dependency (one shard,
   * Redis) fails for every instance alike: draining them all turns a partial outage
   * into a full one, so its failure is reported (`warn` in `/health`), not gated on.
   * @default false
   */
  critical?: boolean
  /**
   * The status the monitor reports at least while this check fails, after the enter
   * dwell. A dependency failing is not an overload, and shedding requests does not
   * bring it back, so by default it asks for none.
   * @default 'healthy'
   */
  status?: HealthStatus
  /** `componentType` in `application/health+json` (datastore, component, system). @default 'component' */
  componentType?: string
}

/** The cached outcome of a check: what the probes answer without running it. */
export interface CheckResult {
  name: string
  /** `pending` until the first run ends. */
  status: 'pass' | 'fail' | 'pending'
  /** Duration of the last run, ms. */
  durationMs: number
  /** When the last run ended (ms since the epoch), 0 while pending. */
  checkedAt: number
  /** The failure, as text. */
  error?: string
  /** Failures in a row. */
  consecutiveFailures: number
  /** A failure makes this instance unready. */
  critical: boolean
  /** The least status the monitor reports while this check fails. */
  impact: HealthStatus
  componentType: string
}

/** A check definition with every setting resolved (the options schema fills them). */
export type ResolvedCheckDefinition = Required<CheckDefinition>

/** Runs the checks on their intervals and keeps the last result of each. */
export interface CheckRunner {
  results(): CheckResult[]
  /** Runs one check now (joining a run in progress) and resolves with its result. */
  run(name: string): Promise<CheckResult>
  runAll(): Promise<CheckResult[]>
  /** True when every critical check passed its last run. */
  criticalPassing(): boolean
  /** The worst status the failing checks ask for. */
  worst(): HealthStatus
  /** One reason per failing check that asks for worse than healthy. */
  reasons(): StatusReason[]
  close(): void
}

export interface CheckRunnerOptions {
  checks: Readonly<Record<string, ResolvedCheckDefinition>>
  clock: Clock
  logger: Logger
  /** Receives each finished run and the result before it. */
  onResult: (result: CheckResult, previous: CheckResult) => void
}

interface CheckState {
  definition: ResolvedCheckDefinition
  result: CheckResult
  running?: Promise<CheckResult>
  timer?: TimerHandle
  timeout?: TimerHandle
  /** Settles the run in progress (close() uses it so no caller waits forever). */
  settleRun?: (result: CheckResult) => void
  /** Bumped on each run so a run that timed out cannot overwrite a later result. */
  generation: number
}

/** One run: which generation it belongs to and when it started. */
interface Run {
  state: CheckState
  generation: number
  started: number
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name
  return String(error)
}

export function createCheckRunner({ checks, clock, logger, onResult }: CheckRunnerOptions): CheckRunner {
  const states = new Map<string, CheckState>()
  let closed = false
  // Read on every sample and probe: rebuilt only when a result changes.
  let cached: CheckResult[] | undefined

  for (const [name, definition] of Object.entries(checks)) {
    states.set(name, {
      definition,
      generation: 0,
      result: {
        name,
        status: 'pending',
        durationMs: 0,
        checkedAt: 0,
        consecutiveFailures: 0,
        critical: definition.critical,
        impact: definition.status,
        componentType: definition.componentType,
      },
    })
  }

  const schedule = (state: CheckState) => {
    if (closed) return
    state.timer = clock.setTimeout(() => {
      state.timer = undefined
      void runState(state)
    }, state.definition.intervalMs)
  }

  const finish = ({ state, generation, started }: Run, error: unknown, failed: boolean) => {
    if (generation !== state.generation || closed) return state.result
    const previous = state.result
    const result: CheckResult = {
      ...previous,
      status: failed ? 'fail' : 'pass',
      durationMs: clock.now() - started,
      checkedAt: clock.now(),
      consecutiveFailures: failed ? previous.consecutiveFailures + 1 : 0,
    }
    if (failed) result.error = describeError(error)
    else delete result.error
    state.result = result
    cached = undefined
    state.running = undefined
    state.generation++
    onResult(result, previous)
    return result
  }

  const runState = (state: CheckState): Promise<CheckResult> => {
    if (state.running) return state.running
    if (closed) return Promise.resolve(state.result)
    if (state.timer !== undefined) clock.clearTimeout(state.timer)
    state.timer = undefined
    const run: Run = { state, generation: state.generation, started: clock.now() }
    const { generation } = run
    const controller = new AbortController()
    const { timeoutMs, check } = state.definition
    state.running = new Promise<CheckResult>((resolve) => {
      state.settleRun = resolve
      state.timeout = clock.setTimeout(() => {
        state.timeout = undefined
        const error = new Error(`Check timed out after ${timeoutMs} ms`)
        controller.abort(error)
        resolve(finish(run, error, true))
      }, timeoutMs)
      const settle = (error: unknown, failed: boolean) => {
        if (generation === state.generation && state.timeout !== undefined) {
          clock.clearTimeout(state.timeout)
          state.timeout = undefined
        }
        resolve(finish(run, error, failed))
      }
      try {
        Promise.resolve(check(controller.signal)).then(
          (value) => settle(value === false ? new Error('Check returned false') : undefined, value === false),
          (error: unknown) => settle(error, true),
        )
      } catch (error) {
        settle(error, true)
      }
    }).then((result) => {
      schedule(state)
      if (result.status === 'fail')
        logger.warn({ check: result.name, error: result.error }, 'health check failed')
      return result
    })
    return state.running
  }

  const results = () => {
    cached ??= [...states.values()].map((state) => state.result)
    return cached
  }

  return {
    results,
    run(name) {
      const state = states.get(name)
      if (!state) return Promise.reject(new TypeError(`Unknown health check "${name}"`))
      return runState(state)
    },
    runAll: () => Promise.all([...states.values()].map(runState)),
    criticalPassing() {
      for (const result of results()) if (result.critical && result.status !== 'pass') return false
      return true
    },
    worst() {
      let status: HealthStatus = 'healthy'
      for (const result of results()) if (result.status === 'fail') status = worse(status, result.impact)
      return status
    },
    reasons() {
      const list: StatusReason[] = []
      for (const result of results()) {
        if (result.status !== 'fail' || result.impact === 'healthy') continue
        list.push({
          kind: 'check',
          name: result.name,
          status: result.impact,
          message: `check ${result.name} failed: ${result.error ?? 'unknown error'}`,
        })
      }
      return list
    },
    close() {
      closed = true
      for (const state of states.values()) {
        if (state.timer !== undefined) clock.clearTimeout(state.timer)
        if (state.timeout !== undefined) clock.clearTimeout(state.timeout)
        state.timer = undefined
        state.timeout = undefined
        state.running = undefined
        state.generation++
        state.settleRun?.(state.result)
        state.settleRun = undefined
      }
    },
  }
}
