import { randomUUID } from 'node:crypto'
import type { Shards } from '../platform/shards.js'

export type ReportStatus = 'queued' | 'running' | 'completed' | 'failed'

export interface Report {
  id: string
  profileId: string
  month: string
  status: ReportStatus
  priority: string
  result: Record<string, unknown> | null
  error: string | null
  createdAt: string
  updatedAt: string
  completedAt: string | null
}

const COLUMNS = `id, profile_id AS "profileId", month, status, priority, result, error,
  created_at AS "createdAt", updated_at AS "updatedAt", completed_at AS "completedAt"`

/** Monthly reports and notifications on their owner's shard. */
export function createReportRepository(shards: Shards) {
  return {
    async create(
      userId: string,
      input: { profileId: string; month: string; priority: string },
    ): Promise<Report> {
      const db = shards.forUser(userId)
      const [row] = await db.query<Report>(
        `INSERT INTO ${db.schema}.reports (id, user_id, profile_id, month, priority)
         VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
        [randomUUID(), userId, input.profileId, input.month, input.priority],
      )
      return row!
    },

    async get(userId: string, id: string): Promise<Report | null> {
      // The primary, not a replica: clients poll this right after creating the report.
      const db = shards.forUser(userId)
      const [row] = await db.query<Report>(
        `SELECT ${COLUMNS} FROM ${db.schema}.reports WHERE id = $1 AND user_id = $2`,
        [id, userId],
      )
      return row ?? null
    },

    async setStatus(
      userId: string,
      id: string,
      status: ReportStatus,
      extra: { result?: unknown; error?: string } = {},
    ): Promise<void> {
      const db = shards.forUser(userId)
      await db.query(
        `UPDATE ${db.schema}.reports SET status = $3, result = COALESCE($4::jsonb, result), error = $5,
           updated_at = now(), completed_at = CASE WHEN $3 IN ('completed', 'failed') THEN now() END
         WHERE id = $1 AND user_id = $2`,
        [
          id,
          userId,
          status,
          extra.result === undefined ? null : JSON.stringify(extra.result),
          extra.error ?? null,
        ],
      )
    },

    async notify(userId: string, kind: string, payload: Record<string, unknown>): Promise<void> {
      const db = shards.forUser(userId)
      await db.query(
        `INSERT INTO ${db.schema}.notifications (id, user_id, kind, payload) VALUES ($1, $2, $3, $4)`,
        [randomUUID(), userId, kind, JSON.stringify(payload)],
      )
    },

    async notifications(userId: string, limit = 20) {
      const db = shards.forUser(userId)
      return db.query<{ id: string; kind: string; payload: Record<string, unknown>; createdAt: string }>(
        `SELECT id, kind, payload, created_at AS "createdAt" FROM ${db.schema}.notifications
         WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2`,
        [userId, limit],
      )
    },
  }
}

export type ReportRepository = ReturnType<typeof createReportRepository>
