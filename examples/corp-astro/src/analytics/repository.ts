import type { Database } from '../db/database.js'

/** One analytics event as the API accepts it. */
export interface AnalyticsEvent {
  id: string
  userId: string
  type: string
  properties: Record<string, unknown>
  occurredAt: string
}

/** Inserts a batch with one multi-row statement (the whole point of batching). */
export async function insertEvents(db: Database, events: readonly AnalyticsEvent[]): Promise<void> {
  if (events.length === 0) return
  const values: unknown[] = []
  const rows = events.map((event, index) => {
    values.push(event.id, event.userId, event.type, JSON.stringify(event.properties), event.occurredAt)
    const at = index * 5
    return `($${at + 1}, $${at + 2}, $${at + 3}, $${at + 4}::jsonb, $${at + 5}::timestamptz)`
  })
  await db.query(
    `INSERT INTO ${db.schema}.analytics_events (id, user_id, type, properties, occurred_at) VALUES ${rows.join(', ')}
     ON CONFLICT (id) DO NOTHING`,
    values,
  )
}

export interface SummaryRow {
  type: string
  events: number
  users: number
}

/** Event counts by type since `since` on one shard. */
export async function summarize(db: Database, since: string): Promise<SummaryRow[]> {
  return db.query<SummaryRow>(
    `SELECT type, count(*)::int AS events, count(DISTINCT user_id)::int AS users
     FROM ${db.schema}.analytics_events WHERE occurred_at >= $1 GROUP BY type`,
    [since],
  )
}
