// Online shard moves on Postgres, driven by Postgres's own logical replication: per batch
// of logical shards (one per source → target), a publication on the source filtered on
// the rows' logical-shard column copies and streams them into a subscription on the
// target; at cut-over a trigger fences writes to those rows on the source, the target
// catches up to the source's WAL position, counts and checksums are compared, and the
// topology row flips in the same transaction that marks the batch done. Every step is
// idempotent and its state is committed, so a restarted mover resumes where it stopped.
import { createCallOptionsCheck, type Logger, parseOptions, silentLogger } from '@headroom/core'
import pg from 'pg'
import { z } from 'zod'
import { decodeLayout, encodeLayout } from '../placement/layout.js'
import { createShardRouter } from '../router/router.js'
import { fnSchema, loggerSchema, optionsSchema } from '../shared/options.js'
import {
  controlSchemaSql,
  type Move,
  type MoveBatch,
  type MovePlan,
  type MoveState,
  readMove,
  readTopology,
  type StoredShard,
} from './control.js'
import { bitmapLiteral } from './logical-shard.js'

/** SQLSTATE raised by a write to a logical shard that is being cut over: retry it shortly. */
export const SHARD_MOVING_SQLSTATE = 'HR503'

/** True for the error a fenced write gets during a cut-over (map it to 503 + Retry-After). */
export function isShardMovingError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { code?: unknown }).code === SHARD_MOVING_SQLSTATE
  )
}

/** Options of {@link createShardMover}. */
export interface ShardMoverOptions {
  /** The control database holding the topology row and the moves. */
  connectionString: string
  /** The topology's name in the control database. @default 'default' */
  name?: string
  /** The tables to move (in the `public` schema unless qualified), each with a primary key. */
  tables: readonly string[]
  /** The column holding each row's logical shard (see `logicalShardFunctionSql`). @default 'logical_shard' */
  column?: string
  /** Longest write pause of one cut-over: past it the fence is lifted and the cut-over retried. @default 2000 */
  maxPauseMs?: number
  /** Cut-overs tried per batch before the move gives up (it stays resumable). @default 5 */
  maxCutoverAttempts?: number
  /** Replication lag (bytes of source WAL) under which a cut-over starts. @default 1048576 */
  catchUpBytes?: number
  /** How often the mover polls replication state, ms. @default 100 */
  pollMs?: number
  /** A process that has not polled the topology for this long no longer holds deletion back, ms. @default 5000 */
  readerTtlMs?: number
  /** Longest wait for every live process to route by the new topology before deleting source rows, ms. @default 60000 */
  readersTimeoutMs?: number
  /** How the target server reaches the source (the subscription's CONNECTION). @default the source's URL */
  subscriptionConnection?: (sourceUrl: string) => string
  /** Called after each step with the whole move. */
  onProgress?: (move: Move) => void
  /** @default silentLogger */
  logger?: Logger
}

type ResolvedShardMoverOptions = Required<Omit<ShardMoverOptions, 'onProgress'>> &
  Pick<ShardMoverOptions, 'onProgress'>

const moverOptionsSchema = optionsSchema<ShardMoverOptions, ResolvedShardMoverOptions>()(
  z.object({
    connectionString: z.string().min(1, 'expected a connection string'),
    name: z.string().min(1, 'expected a non-empty name').default('default'),
    tables: z.array(z.string().min(1, 'expected a table name')).min(1, 'expected at least one table'),
    column: z.string().min(1, 'expected a column name').default('logical_shard'),
    maxPauseMs: z.number().positive('expected a positive number of ms').default(2_000),
    maxCutoverAttempts: z.number().int('expected an integer').positive('expected at least 1').default(5),
    catchUpBytes: z.number().min(0, 'expected 0 or more bytes').default(1_048_576),
    pollMs: z.number().positive('expected a positive number of ms').default(100),
    readerTtlMs: z.number().positive('expected a positive number of ms').default(5_000),
    readersTimeoutMs: z.number().positive('expected a positive number of ms').default(60_000),
    subscriptionConnection: fnSchema<(sourceUrl: string) => string>().default(() => (url: string) => url),
    onProgress: fnSchema<(move: Move) => void>().optional(),
    logger: loggerSchema.default(() => silentLogger),
  }),
)

/** The shard `addShard` takes. */
const newShardSchema = z.object({
  id: z.string().min(1, 'expected a non-empty id'),
  url: z.string().min(1, 'expected a connection string'),
  weight: z.number().finite().positive('expected a weight above 0').default(1),
})

const checkRunOptions = createCallOptionsCheck('run', { signal: 'an AbortSignal' })

/** Runs shard moves, resumably. */
export interface ShardMover {
  /**
   * Plans adding `shard` to the stored topology: records the move (one batch per donor
   * shard) and adds the shard to the topology with no logical shards yet, so routing is
   * unchanged. The target database must already have the tables. Returns the running
   * move if one exists for this topology (a restart calls this again harmlessly).
   */
  addShard(shard: { id: string; url: string; weight?: number }): Promise<Move>
  /** The running move of this topology, if any. */
  running(): Promise<Move | undefined>
  /** Drives a move (the running one by default) through every state to completed. */
  run(moveId?: number, options?: { signal?: AbortSignal }): Promise<Move>
  close(): Promise<void>
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        reject(signal.reason)
      },
      { once: true },
    )
  })

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`
const qualified = (table: string) => {
  const [schema, rel] = table.includes('.') ? table.split('.', 2) : ['public', table]
  return { schema: schema!, rel: rel!, sql: `${ident(schema!)}.${ident(rel!)}` }
}

export function createShardMover(input: ShardMoverOptions): ShardMover {
  const options = parseOptions('createShardMover', moverOptionsSchema, input)
  const { name, column, maxPauseMs, catchUpBytes, pollMs, readerTtlMs, readersTimeoutMs, logger } = options
  const maxAttempts = options.maxCutoverAttempts
  const connectionFor = options.subscriptionConnection
  const control = new pg.Pool({ connectionString: options.connectionString, max: 3 })
  control.on('error', () => {})
  const pools = new Map<string, pg.Pool>()
  const poolFor = (url: string) => {
    let pool = pools.get(url)
    if (!pool) {
      // UTC sessions: the checksums hash each row's text, which must not depend on a server's time zone.
      pool = new pg.Pool({ connectionString: url, max: 2, options: '-c TimeZone=UTC -c DateStyle=ISO' })
      pool.on('error', () => {})
      pools.set(url, pool)
    }
    return pool
  }
  let schemaReady: Promise<unknown> | undefined
  const ready = () => {
    schemaReady ??= control.query(controlSchemaSql)
    return schemaReady
  }

  const running = async () => {
    await ready()
    const { rows } = await control.query<{ id: string }>(
      `SELECT id FROM headroom_shard_moves WHERE name = $1 AND status = 'running'`,
      [name],
    )
    return rows[0] ? readMove(control, Number(rows[0].id)) : undefined
  }

  const addShard: ShardMover['addShard'] = async (input) => {
    const shard = parseOptions('addShard', newShardSchema, input)
    await ready()
    const existing = await running()
    if (existing) return existing
    const client = await control.connect()
    try {
      await client.query('BEGIN')
      await client.query('SELECT 1 FROM headroom_shard_topology WHERE name = $1 FOR UPDATE', [name])
      const topology = await readTopology(client, name)
      if (!topology) throw new Error(`No shard topology named "${name}" in the control database`)
      if (topology.shards.some((s) => s.id === shard.id))
        throw new Error(`Shard "${shard.id}" is already in the topology "${name}"`)
      const spec: StoredShard = { id: shard.id, url: shard.url, weight: shard.weight }
      const router = createShardRouter({
        shards: topology.shards.map((s) => ({ id: s.id, weight: s.weight, primary: s.url })),
        layout: topology.layout,
      })
      const plan = router.plan([...router.shards, { id: spec.id, weight: spec.weight, primary: spec.url }])
      const shards = [...topology.shards, spec]
      const identities: MovePlan['identities'] = {}
      for (const transfer of plan.transfers) {
        const source = topology.shards.find((s) => s.id === transfer.from)!
        identities[source.id] = await replicaIdentities(poolFor(source.url))
      }
      const movePlan: MovePlan = {
        tables: [...options.tables],
        column,
        layout: plan.layout,
        shards,
        identities,
      }
      const inserted = await client.query<{ id: string }>(
        `INSERT INTO headroom_shard_moves (name, status, plan) VALUES ($1, 'running', $2) RETURNING id`,
        [name, JSON.stringify(movePlan)],
      )
      const id = Number(inserted.rows[0]!.id)
      const byFrom = new Map<string, number[]>()
      for (const m of plan.moves) {
        const list = byFrom.get(m.from) ?? []
        list.push(m.logicalShard)
        byFrom.set(m.from, list)
      }
      let batch = 0
      for (const [from, logicalShards] of byFrom) {
        await client.query(
          `INSERT INTO headroom_shard_move_batches (move_id, batch, from_shard, to_shard, logical_shards, state)
           VALUES ($1, $2, $3, $4, $5, 'pending')`,
          [id, batch++, from, spec.id, logicalShards],
        )
      }
      // The newcomer joins with no logical shards: routing is unchanged until a batch cuts over.
      const placement = decodeLayout(topology.layout)
      const joined = encodeLayout({
        ...placement,
        shards: [...placement.shards, { id: spec.id, weight: spec.weight }],
      })
      await client.query(
        `UPDATE headroom_shard_topology SET version = version + 1, shards = $2, layout = $3, updated_at = now()
         WHERE name = $1`,
        [name, JSON.stringify(shards), JSON.stringify(joined)],
      )
      await client.query('COMMIT')
      logger.info({ move: id, shard: spec.id, batches: batch }, 'shard move planned')
      return readMove(control, id)
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {})
      throw error
    } finally {
      client.release()
    }
  }

  const replicaIdentities = async (pool: pg.Pool) => {
    const out: Record<string, string> = {}
    for (const table of options.tables) {
      const t = qualified(table)
      const { rows } = await pool.query<{ relreplident: string }>(
        `SELECT c.relreplident FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relname = $2`,
        [t.schema, t.rel],
      )
      if (!rows[0]) throw new Error(`Table ${table} does not exist on the source database`)
      out[table] = rows[0].relreplident
    }
    return out
  }

  const run: ShardMover['run'] = async (moveId, runOptions) => {
    checkRunOptions(runOptions)
    if (runOptions?.signal !== undefined && !(runOptions.signal instanceof AbortSignal))
      throw new TypeError('Invalid run option "signal": expected an AbortSignal')
    await ready()
    const id = moveId ?? (await running())?.id
    if (id === undefined) throw new Error(`No running shard move for topology "${name}"`)
    const signal = runOptions?.signal
    // One mover per topology at a time; a crashed mover's session ends and frees the lock.
    const lock = await control.connect()
    try {
      const { rows } = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [
        `headroom_shard_move:${name}`,
      ])
      if (!rows[0]?.ok) throw new Error(`Another mover is running the moves of topology "${name}"`)
      try {
        return await drive(id, signal)
      } finally {
        await lock
          .query('SELECT pg_advisory_unlock(hashtext($1))', [`headroom_shard_move:${name}`])
          .catch(() => {})
      }
    } finally {
      lock.release()
    }
  }

  const setState = async (moveId: number, b: MoveBatch, state: MoveState, extra: Partial<MoveBatch> = {}) => {
    await control.query(
      `UPDATE headroom_shard_move_batches SET state = $3, attempts = $4, rows_copied = $5, pause_ms = $6, updated_at = now()
       WHERE move_id = $1 AND batch = $2`,
      [
        moveId,
        b.batch,
        state,
        extra.attempts ?? b.attempts,
        extra.rowsCopied ?? b.rowsCopied,
        extra.pauseMs ?? b.pauseMs,
      ],
    )
    Object.assign(b, extra, { state })
  }

  const drive = async (id: number, signal: AbortSignal | undefined): Promise<Move> => {
    let move = await readMove(control, id)
    const progress = async () => {
      move = await readMove(control, id)
      options.onProgress?.(move)
    }
    options.onProgress?.(move)
    // Every batch starts copying at once; cut-overs then go one batch at a time.
    for (const b of move.batches) {
      while (b.state === 'pending') {
        signal?.throwIfAborted()
        await step(move, b, signal, progress)
      }
    }
    await progress()
    for (const b of move.batches) {
      while (b.state !== 'cleaned') {
        signal?.throwIfAborted()
        await step(move, b, signal, progress)
        await progress()
      }
    }
    if (move.status === 'running') {
      // Every batch is cleaned: the source tables get their replica identity back.
      for (const [shardId, tables] of Object.entries(move.plan.identities)) {
        const source = poolFor(move.plan.shards.find((s) => s.id === shardId)!.url)
        for (const [table, identity] of Object.entries(tables)) {
          if (identity === 'd')
            await source.query(`ALTER TABLE ${qualified(table).sql} REPLICA IDENTITY DEFAULT`)
        }
      }
      await control.query(
        `UPDATE headroom_shard_moves SET status = 'completed', updated_at = now() WHERE id = $1`,
        [id],
      )
      await progress()
      logger.info({ move: id }, 'shard move completed')
    }
    return move
  }

  const step = async (
    move: Move,
    b: MoveBatch,
    signal: AbortSignal | undefined,
    progress: () => Promise<void>,
  ) => {
    const urlOf = (shardId: string) => move.plan.shards.find((s) => s.id === shardId)!.url
    const source = poolFor(urlOf(b.from))
    const target = poolFor(urlOf(b.to))
    const slot = `headroom_move_${move.id}_${b.batch}`
    const bitmap = bitmapLiteral(b.logicalShards, move.plan.layout.logicalShards)
    const inBatch = `get_bit(${bitmap}, ${ident(column)}) = 1`
    const tables = move.plan.tables.map(qualified)
    const subscriptionExists = async () =>
      (await target.query('SELECT 1 FROM pg_subscription WHERE subname = $1', [slot])).rows.length > 0
    const countTarget = async () => {
      let n = 0
      for (const t of tables)
        n += Number(
          (await target.query<{ n: string }>(`SELECT count(*) AS n FROM ${t.sql} WHERE ${inBatch}`)).rows[0]!
            .n,
        )
      return n
    }

    switch (b.state) {
      case 'pending': {
        for (const t of tables) {
          // A row filter on UPDATE/DELETE may only name replica-identity columns: FULL covers it.
          await source.query(`ALTER TABLE ${t.sql} REPLICA IDENTITY FULL`)
        }
        if (!(await subscriptionExists())) {
          // A previous attempt may have left rows on the target: the copy starts clean.
          for (const t of tables) await target.query(`DELETE FROM ${t.sql} WHERE ${inBatch}`)
          const published = await source.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [slot])
          if (published.rows.length === 0)
            await source.query(
              `CREATE PUBLICATION ${ident(slot)} FOR TABLE ${tables.map((t) => `${t.sql} WHERE (${inBatch})`).join(', ')}`,
            )
          const slots = await source.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])
          // The slot is made apart from the subscription: CREATE SUBSCRIPTION cannot create
          // one on the cluster it runs on (source and target may share a server).
          if (slots.rows.length === 0)
            await source.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot])
          const conn = connectionFor(urlOf(b.from)).replace(/'/g, "''")
          await target.query(
            `CREATE SUBSCRIPTION ${ident(slot)} CONNECTION '${conn}' PUBLICATION ${ident(slot)}
             WITH (copy_data = true, create_slot = false, slot_name = '${slot}')`,
          )
        }
        logger.info({ move: move.id, batch: b.batch, from: b.from, to: b.to }, 'copying')
        await setState(move.id, b, 'copying')
        return
      }
      case 'copying': {
        if (!(await subscriptionExists())) return setState(move.id, b, 'pending')
        const { rows } = await target.query<{ state: string }>(
          `SELECT r.srsubstate AS state FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
           WHERE s.subname = $1`,
          [slot],
        )
        const copied = await countTarget()
        if (rows.length === tables.length && rows.every((r) => r.state === 'r' || r.state === 's')) {
          await setState(move.id, b, 'catching-up', { rowsCopied: copied })
          return
        }
        await setState(move.id, b, 'copying', { rowsCopied: copied })
        await sleep(pollMs * 2, signal)
        return
      }
      case 'catching-up': {
        if (!(await subscriptionExists())) return setState(move.id, b, 'pending')
        const lag = await replicationLag(source, target, slot)
        if (lag !== undefined && lag <= catchUpBytes) {
          await setState(move.id, b, 'cutting-over', { rowsCopied: await countTarget() })
          return
        }
        await sleep(pollMs, signal)
        return
      }
      case 'cutting-over': {
        if (!(await subscriptionExists())) return setState(move.id, b, 'pending')
        const fencedAt = performance.now()
        await fence(source, tables, slot, inBatch)
        const deadline = fencedAt + maxPauseMs
        const { rows } = await source.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')
        const lsn = rows[0]!.lsn
        let verified = false
        while (performance.now() < deadline) {
          if (await caughtUpTo(source, target, slot, lsn)) {
            if (await sameRows(source, target, tables, inBatch)) {
              verified = true
              break
            }
          }
          await sleep(Math.min(pollMs, 20), signal)
        }
        if (!verified) {
          // Over the pause budget: writes resume on the source and the cut-over is tried again.
          await unfence(source, tables, slot)
          const attempts = b.attempts + 1
          logger.warn({ move: move.id, batch: b.batch, attempts }, 'cut-over over its pause budget; retrying')
          if (attempts >= maxAttempts) {
            await setState(move.id, b, 'catching-up', { attempts })
            throw new Error(
              `Shard move ${move.id} batch ${b.batch}: ${attempts} cut-overs exceeded maxPauseMs (${maxPauseMs} ms); run it again or raise maxPauseMs`,
            )
          }
          await setState(move.id, b, 'catching-up', { attempts })
          return
        }
        await cutOver(move, b, Math.round(performance.now() - fencedAt))
        logger.info({ move: move.id, batch: b.batch, pauseMs: b.pauseMs }, 'cut over')
        await progress()
        return
      }
      case 'done': {
        await dropReplication(source, target, slot)
        await waitForReaders(b.cutVersion ?? 0, signal)
        await cleanSource(source, tables, inBatch)
        await unfence(source, tables, slot)
        logger.info({ move: move.id, batch: b.batch }, 'source cleaned')
        await setState(move.id, b, 'cleaned')
        return
      }
      case 'cleaned':
        return
    }
  }

  const replicationLag = async (source: pg.Pool, target: pg.Pool, slot: string) => {
    const sub = await target.query<{ lsn: string | null }>(
      `SELECT max(latest_end_lsn)::text AS lsn FROM pg_stat_subscription WHERE subname = $1`,
      [slot],
    )
    const applied = sub.rows[0]?.lsn
    if (!applied) return undefined
    const { rows } = await source.query<{ lag: string }>(
      'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text AS lag',
      [applied],
    )
    return Number(rows[0]!.lag)
  }

  const caughtUpTo = async (source: pg.Pool, target: pg.Pool, slot: string, lsn: string) => {
    const sub = await target.query<{ ok: boolean }>(
      `SELECT coalesce(max(latest_end_lsn) >= $2::pg_lsn, false) AS ok FROM pg_stat_subscription WHERE subname = $1`,
      [slot, lsn],
    )
    if (sub.rows[0]?.ok) return true
    const flushed = await source.query<{ ok: boolean }>(
      `SELECT coalesce(confirmed_flush_lsn >= $2::pg_lsn, false) AS ok FROM pg_replication_slots WHERE slot_name = $1`,
      [slot, lsn],
    )
    return flushed.rows[0]?.ok === true
  }

  /** Count and an order-free checksum of each table's rows in the batch, equal on both sides. */
  const sameRows = async (
    source: pg.Pool,
    target: pg.Pool,
    tables: ReturnType<typeof qualified>[],
    inBatch: string,
  ) => {
    for (const t of tables) {
      const sql = `SELECT count(*)::text AS n, coalesce(sum(hashtext(x::text)::bigint), 0)::text AS sum
                   FROM ${t.sql} x WHERE ${inBatch.replace(ident(column), `x.${ident(column)}`)}`
      const [a, b] = await Promise.all([source.query(sql), target.query(sql)])
      if (a.rows[0].n !== b.rows[0].n || a.rows[0].sum !== b.rows[0].sum) return false
    }
    return true
  }

  const fence = async (
    source: pg.Pool,
    tables: ReturnType<typeof qualified>[],
    slot: string,
    inBatch: string,
  ) => {
    await source.query(`CREATE OR REPLACE FUNCTION headroom_shard_moving() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- The mover's own cleanup deletes the moved rows through the fence.
        IF current_setting('headroom.shard_move_cleanup', true) = 'on' THEN RETURN NULL; END IF;
        RAISE EXCEPTION 'logical shard is moving to another database; retry shortly' USING ERRCODE = '${SHARD_MOVING_SQLSTATE}';
      END $$`)
    const client = await source.connect()
    try {
      // One transaction: the fences appear together, once every write in flight on these tables has committed.
      // AFTER row triggers: a BEFORE trigger's WHEN cannot read a generated column of NEW; raising
      // from an AFTER trigger still rolls the write back.
      await client.query('BEGIN')
      for (const t of tables) {
        const row = (side: string) => inBatch.replace(ident(column), `${side}.${ident(column)}`)
        await client.query(
          `CREATE OR REPLACE TRIGGER ${ident(`${slot}_new`)} AFTER INSERT OR UPDATE ON ${t.sql}
           FOR EACH ROW WHEN (${row('NEW')}) EXECUTE FUNCTION headroom_shard_moving()`,
        )
        await client.query(
          `CREATE OR REPLACE TRIGGER ${ident(`${slot}_old`)} AFTER UPDATE OR DELETE ON ${t.sql}
           FOR EACH ROW WHEN (${row('OLD')}) EXECUTE FUNCTION headroom_shard_moving()`,
        )
      }
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {})
      throw error
    } finally {
      client.release()
    }
  }

  const cleanSource = async (source: pg.Pool, tables: ReturnType<typeof qualified>[], inBatch: string) => {
    const client = await source.connect()
    try {
      await client.query('BEGIN')
      await client.query(`SET LOCAL headroom.shard_move_cleanup = 'on'`)
      for (const t of tables) await client.query(`DELETE FROM ${t.sql} WHERE ${inBatch}`)
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {})
      throw error
    } finally {
      client.release()
    }
  }

  const unfence = async (source: pg.Pool, tables: ReturnType<typeof qualified>[], slot: string) => {
    for (const t of tables) {
      await source.query(`DROP TRIGGER IF EXISTS ${ident(`${slot}_new`)} ON ${t.sql}`)
      await source.query(`DROP TRIGGER IF EXISTS ${ident(`${slot}_old`)} ON ${t.sql}`)
    }
  }

  /** The batch's logical shards route to the target, and the batch is done: one transaction. */
  const cutOver = async (move: Move, b: MoveBatch, pauseMs: number) => {
    const client = await control.connect()
    try {
      await client.query('BEGIN')
      await client.query('SELECT 1 FROM headroom_shard_topology WHERE name = $1 FOR UPDATE', [name])
      const topology = (await readTopology(client, name))!
      const placement = decodeLayout(topology.layout)
      const slot = placement.shards.findIndex((s) => s.id === b.to)
      if (slot < 0) throw new Error(`Shard "${b.to}" is missing from the stored topology "${name}"`)
      const owners = placement.owners.slice()
      for (const logical of b.logicalShards) owners[logical] = slot
      const layout = encodeLayout({ ...placement, owners })
      const updated = await client.query<{ version: string }>(
        `UPDATE headroom_shard_topology SET version = version + 1, layout = $2, updated_at = now()
         WHERE name = $1 RETURNING version`,
        [name, JSON.stringify(layout)],
      )
      const version = Number(updated.rows[0]!.version)
      await client.query(
        `UPDATE headroom_shard_move_batches SET state = 'done', pause_ms = $3, cut_version = $4, updated_at = now()
         WHERE move_id = $1 AND batch = $2`,
        [move.id, b.batch, pauseMs, version],
      )
      await client.query('COMMIT')
      Object.assign(b, { state: 'done', pauseMs, cutVersion: version })
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {})
      throw error
    } finally {
      client.release()
    }
  }

  const dropReplication = async (source: pg.Pool, target: pg.Pool, slot: string) => {
    const sub = await target.query<{ oid: string }>(
      'SELECT oid::text FROM pg_subscription WHERE subname = $1',
      [slot],
    )
    if (sub.rows[0]) {
      // Detached from its slot first: DROP SUBSCRIPTION would otherwise connect to the
      // source to drop it, which hangs when both databases share a server.
      await target.query(`ALTER SUBSCRIPTION ${ident(slot)} DISABLE`)
      await target.query(`ALTER SUBSCRIPTION ${ident(slot)} SET (slot_name = NONE)`)
      await target.query(`DROP SUBSCRIPTION ${ident(slot)}`)
    }
    // The slot, and any table-sync slot a copy left (pg_<subscription oid>_sync_...).
    for (let attempt = 0; ; attempt++) {
      const { rows } = await source.query<{ slot_name: string; active: boolean }>(
        `SELECT slot_name, active FROM pg_replication_slots WHERE slot_name = $1 OR slot_name LIKE $2`,
        [slot, sub.rows[0] ? `pg\\_${sub.rows[0].oid}\\_sync\\_%` : slot],
      )
      if (rows.length === 0) break
      if (rows.some((r) => r.active) && attempt < 100) {
        // The disabled subscription's walsender takes a moment to exit.
        await sleep(pollMs)
        continue
      }
      for (const r of rows) await source.query('SELECT pg_drop_replication_slot($1)', [r.slot_name])
    }
    await source.query(`DROP PUBLICATION IF EXISTS ${ident(slot)}`)
  }

  const waitForReaders = async (version: number, signal: AbortSignal | undefined) => {
    const started = performance.now()
    for (;;) {
      const { rows } = await control.query<{ behind: string }>(
        `SELECT count(*)::text AS behind FROM headroom_shard_readers
         WHERE name = $1 AND version < $2 AND seen_at > now() - make_interval(secs => $3)`,
        [name, version, readerTtlMs / 1000],
      )
      if (Number(rows[0]!.behind) === 0) return
      if (performance.now() - started > readersTimeoutMs)
        throw new Error(
          `${rows[0]!.behind} process(es) still route by a topology older than version ${version} after ${readersTimeoutMs} ms; the source rows are kept (run the move again)`,
        )
      await sleep(pollMs, signal)
    }
  }

  return {
    addShard,
    running,
    run,
    async close() {
      await Promise.all([control.end(), ...[...pools.values()].map((p) => p.end())])
    },
  }
}
