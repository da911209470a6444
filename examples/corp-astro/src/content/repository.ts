import { randomUUID } from 'node:crypto'
import type { Database } from '../db/database.js'
import { queryPage } from '../db/paginate.js'
import type { Shards } from '../platform/shards.js'
import type { BusinessProfile } from '../profiles/repository.js'

export interface ContentItem {
  id: string
  profileId: string
  kind: 'daily' | 'monthly'
  date: string
  title: string
  body: string
  source: 'astro' | 'template'
  templateId: string
  data: Record<string, unknown>
  createdAt: string
  expiresAt: string
}

export type NewContent = Omit<ContentItem, 'id' | 'createdAt' | 'expiresAt'> & { ttlDays: number }

const COLUMNS = `id, profile_id AS "profileId", kind, content_date AS "date", title, body, source,
  template_id AS "templateId", data, created_at AS "createdAt", expires_at AS "expiresAt"`

/** Generated content on its owner's shard. */
export function createContentRepository(shards: Shards) {
  return {
    async findDaily(userId: string, profileId: string, date: string): Promise<ContentItem | null> {
      const db = shards.forUser(userId)
      const [row] = await db.query<ContentItem>(
        `SELECT ${COLUMNS} FROM ${db.schema}.content_items
         WHERE profile_id = $1 AND kind = 'daily' AND content_date = $2 AND user_id = $3`,
        [profileId, date, userId],
      )
      return row ?? null
    },

    /** Inserts, or returns the row a concurrent request inserted first (one per profile and day). */
    async insertOnce(userId: string, item: NewContent): Promise<ContentItem> {
      const db = shards.forUser(userId)
      const [row] = await db.query<ContentItem>(
        `INSERT INTO ${db.schema}.content_items
           (id, user_id, profile_id, kind, content_date, title, body, source, template_id, data, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $5::date + make_interval(days => $11))
         ON CONFLICT (profile_id, kind, content_date) DO NOTHING RETURNING ${COLUMNS}`,
        [
          randomUUID(),
          userId,
          item.profileId,
          item.kind,
          item.date,
          item.title,
          item.body,
          item.source,
          item.templateId,
          JSON.stringify(item.data),
          item.ttlDays,
        ],
      )
      if (row) return row
      const [existing] = await db.query<ContentItem>(
        `SELECT ${COLUMNS} FROM ${db.schema}.content_items
         WHERE profile_id = $1 AND kind = $2 AND content_date = $3 AND user_id = $4`,
        [item.profileId, item.kind, item.date, userId],
      )
      if (!existing) throw new Error('content row vanished between insert and read')
      return existing
    },

    async get(userId: string, id: string): Promise<ContentItem | null> {
      const db = shards.forUserRead(userId)
      const [row] = await db.query<ContentItem>(
        `SELECT ${COLUMNS} FROM ${db.schema}.content_items WHERE id = $1 AND user_id = $2`,
        [id, userId],
      )
      return row ?? null
    },

    async list(userId: string, page: number, limit: number) {
      const db = shards.forUserRead(userId)
      return queryPage<ContentItem>(db, {
        columns: COLUMNS,
        from: `${db.schema}.content_items WHERE user_id = $1`,
        orderBy: 'created_at DESC, id DESC',
        params: [userId],
        limit,
        offset: (page - 1) * limit,
      })
    },
  }
}

/**
 * Profiles on one shard that have no daily content for `date` yet, in id order after
 * `afterId` (keyset pages for the pre-generation job), with their owner.
 */
export async function profilesWithoutDaily(
  db: Database,
  date: string,
  afterId: string,
  limit: number,
): Promise<{ ownerId: string; profile: BusinessProfile }[]> {
  const rows = await db.query<BusinessProfile & { ownerId: string }>(
    `SELECT p.id, p.owner_id AS "ownerId", p.name, p.industry, p.founding_date AS "foundingDate",
       p.location, p.created_at AS "createdAt", p.updated_at AS "updatedAt"
     FROM ${db.schema}.business_profiles p
     WHERE p.id > $2 AND NOT EXISTS (
       SELECT 1 FROM ${db.schema}.content_items c
       WHERE c.profile_id = p.id AND c.kind = 'daily' AND c.content_date = $1)
     ORDER BY p.id LIMIT $3`,
    [date, afterId, limit],
  )
  return rows.map(({ ownerId, ...profile }) => ({ ownerId, profile }))
}

/** Deletes expired content on one shard (the cleanup job runs it on each). */
export async function deleteExpiredContent(db: Database): Promise<number> {
  const rows = await db.query(`DELETE FROM ${db.schema}.content_items WHERE expires_at < now() RETURNING id`)
  return rows.length
}

export type ContentRepository = ReturnType<typeof createContentRepository>
