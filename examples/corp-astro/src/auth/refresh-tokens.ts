import { randomUUID } from 'node:crypto'
import type { Shards } from '../platform/shards.js'
import { newRefreshToken, parseRefreshToken } from './tokens.js'

export type RotateResult =
  | { ok: true; token: string; userId: string; familyId: string }
  | { ok: false; reason: 'invalid' | 'expired' | 'reused' }

/**
 * Rotating refresh tokens on the user's shard. Each use revokes the token and issues
 * its successor in the same family; presenting a revoked token again means it was
 * stolen (or replayed), so the whole family is revoked.
 */
export function createRefreshTokenStore(shards: Shards, ttlSeconds: number) {
  const insert = async (userId: string, familyId: string) => {
    const db = shards.forUser(userId)
    const next = newRefreshToken(userId)
    await db.query(
      `INSERT INTO ${db.schema}.refresh_tokens (id, user_id, family_id, token_hash, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
      [next.id, userId, familyId, next.hash, ttlSeconds],
    )
    return next.token
  }

  return {
    /** Starts a session (a new family). */
    async issue(userId: string): Promise<{ token: string; familyId: string }> {
      const familyId = randomUUID()
      return { token: await insert(userId, familyId), familyId }
    },

    async rotate(token: string): Promise<RotateResult> {
      const parsed = parseRefreshToken(token)
      if (!parsed) return { ok: false, reason: 'invalid' }
      const db = shards.forUser(parsed.userId)
      const next = newRefreshToken(parsed.userId)
      // One statement, so one transaction: the token is revoked and its successor issued
      // together or not at all (a failure in between would otherwise end the session).
      // The conditional UPDATE is the lock: of two concurrent refreshes with one token, one
      // wins. An expired token is revoked without a successor.
      const [row] = await db.query<{ family_id: string; expired: boolean }>(
        `WITH revoked AS (
           UPDATE ${db.schema}.refresh_tokens SET revoked_at = now()
           WHERE id = $1 AND user_id = $2 AND token_hash = $3 AND revoked_at IS NULL
           RETURNING family_id, expires_at < now() AS expired
         ), issued AS (
           INSERT INTO ${db.schema}.refresh_tokens (id, user_id, family_id, token_hash, expires_at)
           SELECT $4::uuid, $2::uuid, family_id, $5::text, now() + make_interval(secs => $6::float8)
           FROM revoked WHERE NOT expired
         )
         SELECT family_id, expired FROM revoked`,
        [parsed.id, parsed.userId, parsed.hash, next.id, next.hash, ttlSeconds],
      )
      if (!row) {
        const [seen] = await db.query<{ family_id: string }>(
          `SELECT family_id FROM ${db.schema}.refresh_tokens WHERE id = $1 AND user_id = $2 AND token_hash = $3`,
          [parsed.id, parsed.userId, parsed.hash],
        )
        if (!seen) return { ok: false, reason: 'invalid' }
        await this.revokeFamily(parsed.userId, seen.family_id)
        return { ok: false, reason: 'reused' }
      }
      if (row.expired) return { ok: false, reason: 'expired' }
      return { ok: true, token: next.token, userId: parsed.userId, familyId: row.family_id }
    },

    /** Ends the session a refresh token belongs to; returns its user and family, or null. */
    async revoke(token: string): Promise<{ userId: string; familyId: string } | null> {
      const parsed = parseRefreshToken(token)
      if (!parsed) return null
      const db = shards.forUser(parsed.userId)
      const [row] = await db.query<{ family_id: string }>(
        `SELECT family_id FROM ${db.schema}.refresh_tokens WHERE id = $1 AND user_id = $2 AND token_hash = $3`,
        [parsed.id, parsed.userId, parsed.hash],
      )
      if (!row) return null
      await this.revokeFamily(parsed.userId, row.family_id)
      return { userId: parsed.userId, familyId: row.family_id }
    },

    async revokeFamily(userId: string, familyId: string): Promise<void> {
      const db = shards.forUser(userId)
      await db.query(
        `UPDATE ${db.schema}.refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL`,
        [familyId],
      )
    },
  }
}

export type RefreshTokenStore = ReturnType<typeof createRefreshTokenStore>
