import { randomUUID } from 'node:crypto'
import type { Role, Tier } from '../auth/tokens.js'
import type { Shards } from '../platform/shards.js'

export interface User {
  id: string
  email: string
  name: string
  tier: Tier
  role: Role
  createdAt: string
  updatedAt: string
}

export interface UserWithPassword extends User {
  passwordHash: string
}

const COLUMNS = `id, email, name, tier, role, password_hash AS "passwordHash",
  created_at AS "createdAt", updated_at AS "updatedAt"`

export const publicUser = ({ passwordHash: _, ...user }: UserWithPassword): User => user

/** Users, sharded by id, with the email directory sharded by email. */
export function createUserRepository(shards: Shards) {
  return {
    /**
     * Claims the email in its directory shard first: its primary key makes emails unique
     * across all shards. Returns null when the email is taken.
     */
    async create(input: { email: string; passwordHash: string; name: string; tier: Tier; role: Role }) {
      const id = randomUUID()
      const directory = shards.forEmail(input.email)
      const claimed = await directory.query(
        `INSERT INTO ${directory.schema}.user_emails (email, user_id) VALUES ($1, $2)
         ON CONFLICT (email) DO NOTHING RETURNING user_id`,
        [input.email, id],
      )
      if (claimed.length === 0) return null
      const db = shards.forUser(id)
      try {
        const [row] = await db.query<UserWithPassword>(
          `INSERT INTO ${db.schema}.users (id, email, password_hash, name, tier, role)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
          [id, input.email, input.passwordHash, input.name, input.tier, input.role],
        )
        return row!
      } catch (error) {
        // Give the email back, or it stays claimed by a user who does not exist.
        await directory
          .query(`DELETE FROM ${directory.schema}.user_emails WHERE email = $1 AND user_id = $2`, [
            input.email,
            id,
          ])
          .catch(() => {})
        throw error
      }
    },

    async findByEmail(email: string): Promise<UserWithPassword | null> {
      const directory = shards.forEmail(email)
      const [entry] = await directory.query<{ user_id: string }>(
        `SELECT user_id FROM ${directory.schema}.user_emails WHERE email = $1`,
        [email],
      )
      return entry ? this.findById(entry.user_id) : null
    },

    async findById(id: string): Promise<UserWithPassword | null> {
      const db = shards.forUser(id)
      const [row] = await db.query<UserWithPassword>(
        `SELECT ${COLUMNS} FROM ${db.schema}.users WHERE id = $1`,
        [id],
      )
      return row ?? null
    },

    async update(id: string, patch: { name?: string | undefined; tier?: Tier | undefined }) {
      const db = shards.forUser(id)
      const [row] = await db.query<UserWithPassword>(
        `UPDATE ${db.schema}.users SET name = COALESCE($2, name), tier = COALESCE($3, tier), updated_at = now()
         WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, patch.name ?? null, patch.tier ?? null],
      )
      return row ?? null
    },
  }
}

export type UserRepository = ReturnType<typeof createUserRepository>
