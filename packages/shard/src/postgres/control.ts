// The move's state and the committed topology live in one control database, so a
// restarted mover resumes where it stopped and every app process routes by the same
// committed version. Topology and batch state change in one transaction at cut-over.
import type pg from 'pg'
import type { ShardLayout } from '../placement/layout.js'

export const controlSchemaSql = `
CREATE TABLE IF NOT EXISTS headroom_shard_topology (
  name       text PRIMARY KEY,
  version    bigint NOT NULL,
  shards     jsonb NOT NULL,
  layout     jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS headroom_shard_moves (
  id         bigserial PRIMARY KEY,
  name       text NOT NULL,
  status     text NOT NULL CHECK (status IN ('running', 'completed')),
  plan       jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS headroom_shard_moves_running_idx
  ON headroom_shard_moves (name) WHERE status = 'running';
CREATE TABLE IF NOT EXISTS headroom_shard_move_batches (
  move_id        bigint NOT NULL REFERENCES headroom_shard_moves (id),
  batch          integer NOT NULL,
  from_shard     text NOT NULL,
  to_shard       text NOT NULL,
  logical_shards integer[] NOT NULL,
  state          text NOT NULL CHECK (state IN ('pending', 'copying', 'catching-up', 'cutting-over', 'done', 'cleaned')),
  rows_copied    bigint NOT NULL DEFAULT 0,
  attempts       integer NOT NULL DEFAULT 0,
  pause_ms       integer,
  cut_version    bigint,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (move_id, batch)
);
CREATE TABLE IF NOT EXISTS headroom_shard_readers (
  name    text NOT NULL,
  reader  text NOT NULL,
  version bigint NOT NULL,
  seen_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, reader)
);
`

/** One shard as the control database records it: where its primary is. */
export interface StoredShard {
  id: string
  url: string
  weight: number
}

/** The committed topology: what every process routes by. */
export interface StoredTopology {
  name: string
  /** Goes up by one at every change; processes compare it to know they are current. */
  version: number
  shards: StoredShard[]
  layout: ShardLayout
}

/** The states a batch of logical shards goes through, in order. */
export const MOVE_STATES = ['pending', 'copying', 'catching-up', 'cutting-over', 'done', 'cleaned'] as const
export type MoveState = (typeof MOVE_STATES)[number]

export interface MoveBatch {
  batch: number
  from: string
  to: string
  logicalShards: number[]
  state: MoveState
  rowsCopied: number
  attempts: number
  /** How long writes to these logical shards were fenced at cut-over, ms. */
  pauseMs: number | null
  /** The topology version that routed them to `to`. */
  cutVersion: number | null
}

export interface MovePlan {
  tables: string[]
  column: string
  /** The layout once every batch is cut over. */
  layout: ShardLayout
  shards: StoredShard[]
  /** Each source table's replica identity before the move (`d`, `f`, `i`, `n`), restored after it. */
  identities: Record<string, Record<string, string>>
}

export interface Move {
  id: number
  name: string
  status: 'running' | 'completed'
  plan: MovePlan
  batches: MoveBatch[]
}

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>

export async function readTopology(db: Queryable, name: string): Promise<StoredTopology | undefined> {
  const { rows } = await db.query<{ version: string; shards: StoredShard[]; layout: ShardLayout }>(
    'SELECT version, shards, layout FROM headroom_shard_topology WHERE name = $1',
    [name],
  )
  const row = rows[0]
  return row && { name, version: Number(row.version), shards: row.shards, layout: row.layout }
}

export async function readMove(db: Queryable, id: number): Promise<Move> {
  const { rows } = await db.query<{ id: string; name: string; status: Move['status']; plan: MovePlan }>(
    'SELECT id, name, status, plan FROM headroom_shard_moves WHERE id = $1',
    [id],
  )
  const row = rows[0]
  if (!row) throw new Error(`No shard move ${id} in the control database`)
  const batches = await db.query<{
    batch: number
    from_shard: string
    to_shard: string
    logical_shards: number[]
    state: MoveState
    rows_copied: string
    attempts: number
    pause_ms: number | null
    cut_version: string | null
  }>('SELECT * FROM headroom_shard_move_batches WHERE move_id = $1 ORDER BY batch', [id])
  return {
    id: Number(row.id),
    name: row.name,
    status: row.status,
    plan: row.plan,
    batches: batches.rows.map((b) => ({
      batch: b.batch,
      from: b.from_shard,
      to: b.to_shard,
      logicalShards: b.logical_shards,
      state: b.state,
      rowsCopied: Number(b.rows_copied),
      attempts: b.attempts,
      pauseMs: b.pause_ms,
      cutVersion: b.cut_version === null ? null : Number(b.cut_version),
    })),
  }
}
