/** One contender in a group: a function timed per call, or a whole workload measured at once. */
export type BenchTask =
  | (() => unknown)
  | {
      /** One call; its result goes to the group's `check`. */
      fn: () => unknown
      /** Operations one call performs (a call that awaits 64 concurrent ops counts 64). @default 1 */
      opsPerCall?: number
      /**
       * The call's operations run concurrently, so each waited about as long as the call:
       * latency is reported per call. Otherwise it is divided by `opsPerCall`. @default false
       */
      concurrent?: boolean
    }
  | {
      /** A workload that times itself (e.g. "process 20 k jobs"); run once per round. */
      measure: () => Promise<Measurement>
    }

/** What a self-timed workload reports. */
export interface Measurement {
  /** Operations completed. */
  ops: number
  /** Wall time in milliseconds. */
  ms: number
  /** Per-operation latency percentiles in milliseconds, when the workload knows them. */
  p50?: number
  p99?: number
  /** Anything else worth printing (balance, moved fraction...). */
  notes?: Record<string, string | number>
}

/** A claim the run checks and prints: `task` is at least `ratio` x `against`. */
export interface BenchTarget {
  task: string
  /** @default the group's baseline */
  against?: string
  /** Minimum ratio of ops/s (0.5 = at least half as fast). */
  atLeast: number
}

/** Tasks measured side by side, in the same round, with ratios against `baseline`. */
export interface BenchGroup {
  name: string
  /** The task (a peer) every ratio is computed against. */
  baseline: string
  tasks: Record<string, BenchTask>
  /**
   * Verifies one result of a task (run on calls before and after timing): throw when
   * the work was not done, so a benchmark that stops doing it fails loudly.
   */
  check?: (result: unknown, task: string) => void
  targets?: BenchTarget[]
  /** Printed under the table. */
  notes?: string[]
}

export interface BenchSuite {
  /** Matched by `pnpm bench <filter>`. */
  name: string
  /** Services the suite needs; it is skipped with a notice when one does not answer. */
  requires?: ('redis' | 'postgres')[]
  /** Builds the groups (connects clients, generates keys) before any timing. */
  setup: () => Promise<BenchGroup[]> | BenchGroup[]
  /** Closes what setup opened. */
  teardown?: () => Promise<void> | void
}

/** Declares a suite (identity, for types). */
export function defineSuite(suite: BenchSuite): BenchSuite {
  return suite
}

/** Keeps a result observable so the engine cannot drop the work that made it. */
export let sink: unknown
export function consume(value: unknown): void {
  sink = value
}
