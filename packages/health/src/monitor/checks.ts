import type { Clock, Logger, TimerHandle } from '@headroom/core'
import type { HealthStatus } from '../status/status.js'

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

/** Runs the checks on their intervals and keeps the last result of each. */
export interface CheckRunner {
  results(): CheckResult[]
  get(name: string): CheckResult | undefined
  /** Runs one check now (joining a run in progress) and resolves with its result. */
  run(name: string): Promise<CheckResult>
  runAll(): Promise<CheckResult[]>
  close(): void
}

interface CheckState {
  definition: Required<Omit<CheckDefinition, 'componentType'>> & { componentType: string }
  result: CheckResult
  running?: Promise<CheckResult>
  timer?: TimerHandle
  timeout?: TimerHandle
  /** Settles the run in progress (close() uses it so no caller waits forever). */
  settleRun?: (result: CheckResult) => void
  /** Bumped on each run so a run that timed out cannot overwrite a later result. */
  generation: number
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name
  return String(error)
}

export function createCheckRunner(
  checks: Record<string, CheckFn | CheckDefinition>,
  defaults: { timeoutMs: number; intervalMs: number },
  clock: Clock,
  logger: Logger,
  onResult: (result: CheckResult, previous: CheckResult) => void,
): CheckRunner {
  const states = new Map<string, CheckState>()
  let closed = false
  // Read on every sample and probe: rebuilt only when a result changes.
  let cached: CheckResult[] | undefined

  for (const [name, input] of Object.entries(checks)) {
    const definition = typeof input === 'function' ? { check: input } : input
    const full = {
      check: definition.check,
      timeoutMs: definition.timeoutMs ?? defaults.timeoutMs,
      intervalMs: definition.intervalMs ?? defaults.intervalMs,
      critical: definition.critical ?? false,
      status: definition.status ?? 'healthy',
      componentType: definition.componentType ?? 'component',
    }
    states.set(name, {
      definition: full,
      generation: 0,
      result: {
        name,
        status: 'pending',
        durationMs: 0,
        checkedAt: 0,
        consecutiveFailures: 0,
        critical: full.critical,
        impact: full.status,
        componentType: full.componentType,
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

  const finish = (
    state: CheckState,
    generation: number,
    started: number,
    error: unknown,
    failed: boolean,
  ) => {
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
    const generation = state.generation
    const started = clock.now()
    const controller = new AbortController()
    const { timeoutMs, check } = state.definition
    state.running = new Promise<CheckResult>((resolve) => {
      state.settleRun = resolve
      state.timeout = clock.setTimeout(() => {
        state.timeout = undefined
        const error = new Error(`Check timed out after ${timeoutMs} ms`)
        controller.abort(error)
        resolve(finish(state, generation, started, error, true))
      }, timeoutMs)
      const settle = (error: unknown, failed: boolean) => {
        if (generation === state.generation && state.timeout !== undefined) {
          clock.clearTimeout(state.timeout)
          state.timeout = undefined
        }
        resolve(finish(state, generation, started, error, failed))
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

  return {
    results() {
      cached ??= [...states.values()].map((state) => state.result)
      return cached
    },
    get: (name) => states.get(name)?.result,
    run(name) {
      const state = states.get(name)
      if (!state) return Promise.reject(new TypeError(`Unknown health check "${name}"`))
      return runState(state)
    },
    runAll: () => Promise.all([...states.values()].map(runState)),
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
