import { randomUUID } from 'node:crypto'
import { queryPage } from '../db/paginate.js'
import type { Shards } from '../platform/shards.js'

export interface BusinessProfile {
  id: string
  name: string
  industry: string
  foundingDate: string
  location: string
  createdAt: string
  updatedAt: string
}

export interface ProfileInput {
  name: string
  industry: string
  foundingDate: string
  location: string
}

const COLUMNS = `id, name, industry, founding_date AS "foundingDate", location,
  created_at AS "createdAt", updated_at AS "updatedAt"`

/**
 * Business profiles on their owner's shard. Every query filters by owner, so another
 * user's profile is simply not found: no separate authorisation step to forget.
 */
export function createProfileRepository(shards: Shards) {
  return {
    async list(ownerId: string, page: number, limit: number) {
      const db = shards.forUserRead(ownerId)
      return queryPage<BusinessProfile>(db, {
        columns: COLUMNS,
        from: `${db.schema}.business_profiles WHERE owner_id = $1`,
        orderBy: 'created_at DESC, id DESC',
        params: [ownerId],
        limit,
        offset: (page - 1) * limit,
      })
    },

    async get(
      ownerId: string,
      id: string,
      options: { fresh?: boolean } = {},
    ): Promise<BusinessProfile | null> {
      const db = options.fresh ? shards.forUser(ownerId) : shards.forUserRead(ownerId)
      const [row] = await db.query<BusinessProfile>(
        `SELECT ${COLUMNS} FROM ${db.schema}.business_profiles WHERE id = $1 AND owner_id = $2`,
        [id, ownerId],
      )
      return row ?? null
    },

    async create(ownerId: string, input: ProfileInput): Promise<BusinessProfile> {
      const db = shards.forUser(ownerId)
      const [row] = await db.query<BusinessProfile>(
        `INSERT INTO ${db.schema}.business_profiles (id, owner_id, name, industry, founding_date, location)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
        [randomUUID(), ownerId, input.name, input.industry, input.foundingDate, input.location],
      )
      return row!
    },

    async update(ownerId: string, id: string, patch: Partial<ProfileInput>): Promise<BusinessProfile | null> {
      const db = shards.forUser(ownerId)
      const [row] = await db.query<BusinessProfile>(
        `UPDATE ${db.schema}.business_profiles SET
           name = COALESCE($3, name), industry = COALESCE($4, industry),
           founding_date = COALESCE($5::date, founding_date), location = COALESCE($6, location),
           updated_at = now()
         WHERE id = $1 AND owner_id = $2 RETURNING ${COLUMNS}`,
        [
          id,
          ownerId,
          patch.name ?? null,
          patch.industry ?? null,
          patch.foundingDate ?? null,
          patch.location ?? null,
        ],
      )
      return row ?? null
    },

    async remove(ownerId: string, id: string): Promise<boolean> {
      const db = shards.forUser(ownerId)
      const rows = await db.query(
        `DELETE FROM ${db.schema}.business_profiles WHERE id = $1 AND owner_id = $2 RETURNING id`,
        [id, ownerId],
      )
      return rows.length > 0
    },
  }
}

export type ProfileRepository = ReturnType<typeof createProfileRepository>
