// Measures each Postgres replica's replication lag on a schedule and reports it to the
// router, so lag-aware routing needs no caller to call reportLag.
//
// Why LSNs and not pg_last_xact_replay_timestamp() alone: on an idle primary the last
// replayed commit only gets older, so "now minus replay timestamp" grows although the
// replica has everything. Here a replica whose replay LSN has reached the primary's
// current WAL position lags 0. Otherwise its lag is how long ago the probe first saw the
// primary past the replica's replay LSN: the oldest un-replayed state is at least that
// old (a lower bound, exact to one interval), and it keeps growing while replay is stuck.
import {
  type Clock,
  type Logger,
  parseOptions,
  silentLogger,
  systemClock,
  type TimerHandle,
  withTimeout,
} from '@headroom/core'
import { z } from 'zod'
import type { ShardRouter } from '../router/types.js'
import { clockSchema, fnSchema, loggerSchema, optionsSchema } from '../shared/options.js'

type Row = Record<string, unknown>

/** Options of {@link watchReplicaLag}. */
export interface ReplicaLagOptions<T> {
  /** Time between two measurements, ms. @default 1000 */
  intervalMs?: number
  /**
   * Longest wait for one probe query; a replica that does not answer in time counts as
   * lagging. @default the larger of intervalMs and 2000
   */
  timeoutMs?: number
  /**
   * Runs `sql` on a target and resolves with its rows. The default calls
   * `target.query(sql)` and accepts pg's `{ rows }` or an array of rows, so a `pg.Pool`,
   * a `pg.Client` or a wrapper returning rows all work.
   */
  query?: (target: T, sql: string) => Promise<readonly Row[]>
  /** Must be the router's clock (replay times are compared with its session windows). @default systemClock */
  clock?: Clock
  /** @default silentLogger */
  logger?: Logger
}

/** One replica's last measurement. */
export interface ReplicaLag<T> {
  shard: string
  target: T
  /** Measured lag, ms; `Infinity` when replay is paused or the replica did not answer. */
  lagMs: number
  /** Replay is paused (`pg_wal_replay_pause()`). */
  paused: boolean
  /** When (clock ms) the primary last held only what the replica has replayed. */
  replayedAt: number | undefined
  /** The probe query failed or timed out: the error. */
  error?: unknown
}

export interface ReplicaLagProbe<T> {
  /** Measures every replica now and reports to the router; resolves with the measurements. */
  check(): Promise<ReplicaLag<T>[]>
  /** The last measurements. */
  lags(): ReplicaLag<T>[]
  /** Stops the schedule. The router keeps the last reported state. */
  close(): void
}

type ResolvedReplicaLagOptions = Required<ReplicaLagOptions<unknown>>

const replicaLagSchema = optionsSchema<ReplicaLagOptions<unknown>, ResolvedReplicaLagOptions>()(
  z
    .object({
      intervalMs: z
        .number()
        .int('expected an integer')
        .positive('expected a positive number of ms')
        .default(1000),
      timeoutMs: z
        .number()
        .int('expected an integer')
        .positive('expected a positive number of ms')
        .optional(),
      query: fnSchema<(target: unknown, sql: string) => Promise<readonly Row[]>>().default(
        () => defaultQuery,
      ),
      clock: clockSchema.default(() => systemClock),
      logger: loggerSchema.default(() => silentLogger),
    })
    // The timeout's default follows the interval: a probe may take as long as the gap it fills.
    .transform((options) => ({
      ...options,
      timeoutMs: options.timeoutMs ?? Math.max(options.intervalMs, 2000),
    })),
)

const PRIMARY_SQL = 'SELECT pg_current_wal_lsn()::text AS lsn'
const REPLICA_SQL =
  'SELECT pg_is_in_recovery() AS recovery, pg_last_wal_replay_lsn()::text AS replay, ' +
  'CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END AS paused'

/** A WAL position of the primary: first and last seen (clock ms). */
interface Sample {
  lsn: bigint
  at: number
  seen: number
}

/** Most primary samples kept per shard; older ones only sharpen the lag of a replica stuck for long. */
const MAX_SAMPLES = 4096

/**
 * Measures the lag of every replica of `router` on Postgres every `intervalMs` and
 * reports it with `router.reportLag`, so a replica past `maxReplicaLagMs`, paused, or
 * not answering leaves the read rotation and comes back when it catches up. The replay
 * time it reports also keeps read-your-writes beyond the router's window.
 *
 * @example
 * const router = createShardRouter({ shards: [{ id: 'a', primary, replicas: [replica] }], maxReplicaLagMs: 2000 })
 * const probe = watchReplicaLag(router, { intervalMs: 500 })
 * await probe.check() // first measurement now, then every 500 ms
 * // ...
 * probe.close()
 */
export function watchReplicaLag<T>(
  router: ShardRouter<T, any>,
  input: ReplicaLagOptions<T> = {},
): ReplicaLagProbe<T> {
  const { clock, logger, intervalMs, timeoutMs, ...options } = parseOptions(
    'watchReplicaLag',
    replicaLagSchema,
    input,
  )
  const query = options.query as (target: T, sql: string) => Promise<readonly Row[]>
  const history = new Map<string, Sample[]>()
  let last: ReplicaLag<T>[] = []
  let timer: TimerHandle | undefined
  let closed = false
  let running: Promise<ReplicaLag<T>[]> | undefined

  const ask = (target: T, sql: string) =>
    withTimeout(query(target, sql), timeoutMs, { clock, message: `no answer within ${timeoutMs} ms` })

  const measureShard = async (id: string, primary: T, replicas: readonly T[]): Promise<ReplicaLag<T>[]> => {
    let samples = history.get(id)
    try {
      const [row] = await ask(primary, PRIMARY_SQL)
      const lsn = parseLsn(row?.lsn)
      const now = clock.now()
      if (!samples) {
        samples = []
        history.set(id, samples)
      }
      const newest = samples[samples.length - 1]
      // An unchanged position keeps its first time (when the primary reached it) and
      // moves its last (until when the primary held nothing newer).
      if (newest && lsn <= newest.lsn) newest.seen = now
      else samples.push({ lsn, at: now, seen: now })
    } catch (error) {
      // Without the primary's position no lag can be told: the replicas keep their state.
      logger.warn({ shard: id, err: error }, 'replica lag probe: primary did not answer')
      return []
    }
    const replays: (bigint | undefined)[] = []
    const results = await Promise.all(
      replicas.map(async (target, index): Promise<ReplicaLag<T>> => {
        try {
          const [row] = await ask(target, REPLICA_SQL)
          const now = clock.now()
          if (row?.recovery === false)
            // Promoted, or not a standby: it has all it will get from this primary.
            return { shard: id, target, lagMs: 0, paused: false, replayedAt: now }
          const paused = row?.paused === true
          const replay = parseLsn(row?.replay)
          replays[index] = replay
          const { lagMs, replayedAt } = lagOf(samples!, replay, now)
          return { shard: id, target, lagMs: paused ? Number.POSITIVE_INFINITY : lagMs, paused, replayedAt }
        } catch (error) {
          return {
            shard: id,
            target,
            lagMs: Number.POSITIVE_INFINITY,
            paused: false,
            replayedAt: undefined,
            error,
          }
        }
      }),
    )
    prune(samples!, replays, replicas.length)
    return results
  }

  const check = async (): Promise<ReplicaLag<T>[]> => {
    const shards = router.shards.filter((shard) => shard.replicas.length > 0)
    const measured = (await Promise.all(shards.map((s) => measureShard(s.id, s.primary, s.replicas)))).flat()
    for (const lag of measured) {
      if (lag.error !== undefined)
        logger.warn({ shard: lag.shard, err: lag.error }, 'replica lag probe: replica did not answer')
      try {
        router.reportLag(
          lag.target,
          lag.lagMs,
          lag.replayedAt === undefined ? undefined : { replayedAt: lag.replayedAt },
        )
      } catch (error) {
        // The topology changed under the measurement: the target is no longer routed.
        logger.debug({ shard: lag.shard, err: error }, 'replica lag probe: target left the router')
      }
    }
    const ids = new Set(shards.map((s) => s.id))
    for (const id of history.keys()) if (!ids.has(id)) history.delete(id)
    last = measured
    return measured
  }

  const tick = () => {
    timer = undefined
    if (closed) return
    running ??= check().finally(() => {
      running = undefined
    })
    running.then(schedule, (error) => {
      logger.error({ err: error }, 'replica lag probe failed')
      schedule()
    })
  }
  const schedule = () => {
    if (!closed && timer === undefined) timer = clock.setTimeout(tick, intervalMs)
  }
  tick()

  return {
    check: () => {
      // Shares a measurement already running instead of sending the queries twice.
      running ??= check().finally(() => {
        running = undefined
      })
      return running
    },
    lags: () => last,
    close() {
      closed = true
      if (timer !== undefined) clock.clearTimeout(timer)
      timer = undefined
    },
  }
}

/** Lag of a replica at `replay` against the primary's samples (ascending LSN). */
function lagOf(
  samples: readonly Sample[],
  replay: bigint,
  now: number,
): { lagMs: number; replayedAt: number | undefined } {
  let firstAhead: Sample | undefined
  let replayedAt: number | undefined
  // Newest first: the newest sample not past the replay LSN is what the replica holds.
  for (let i = samples.length - 1; i >= 0; i--) {
    const sample = samples[i]!
    if (sample.lsn <= replay) {
      replayedAt = sample.seen
      break
    }
    firstAhead = sample
  }
  return { lagMs: firstAhead ? Math.max(0, now - firstAhead.at) : 0, replayedAt }
}

/**
 * Drops the samples no replica needs: those older than the newest one at or below the
 * slowest replay. A replica that did not answer keeps them all (up to MAX_SAMPLES).
 */
function prune(samples: Sample[], replays: readonly (bigint | undefined)[], replicas: number) {
  let slowest: bigint | undefined
  let known = 0
  for (const replay of replays) {
    if (replay === undefined) continue
    known++
    if (slowest === undefined || replay < slowest) slowest = replay
  }
  let drop = Math.max(0, samples.length - MAX_SAMPLES)
  if (slowest !== undefined && known === replicas) {
    let keep = 0
    for (let i = samples.length - 1; i >= 0; i--) {
      if (samples[i]!.lsn <= slowest) {
        keep = i
        break
      }
    }
    drop = Math.max(drop, keep)
  }
  if (drop > 0) samples.splice(0, drop)
}

function parseLsn(value: unknown): bigint {
  if (typeof value !== 'string')
    throw new Error(`expected an LSN such as "0/3000060" (received ${String(value)})`)
  const slash = value.indexOf('/')
  if (slash < 1) throw new Error(`expected an LSN such as "0/3000060" (received ${value})`)
  return (BigInt(`0x${value.slice(0, slash)}`) << 32n) + BigInt(`0x${value.slice(slash + 1)}`)
}

async function defaultQuery(target: unknown, sql: string): Promise<readonly Row[]> {
  const queryable = target as { query?: (sql: string) => Promise<unknown> }
  if (typeof queryable?.query !== 'function')
    throw new TypeError(
      'watchReplicaLag: a target has no query(sql) method; pass options.query to run SQL on it',
    )
  const result = await queryable.query(sql)
  if (Array.isArray(result)) return result as Row[]
  return ((result as { rows?: Row[] } | undefined)?.rows ?? []) as Row[]
}
