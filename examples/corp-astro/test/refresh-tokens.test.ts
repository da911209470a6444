import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRefreshTokenStore, type RefreshTokenStore } from '../src/auth/refresh-tokens.js'
import { parseRefreshToken } from '../src/auth/tokens.js'
import type { Databases } from '../src/db/database.js'
import { migrate } from '../src/db/migrate.js'
import { openPglite } from '../src/db/pglite.js'
import { createShards, type Shards } from '../src/platform/shards.js'

/** The rotating refresh-token store on a real (embedded) Postgres: PGlite, two shards. */
describe('refresh token rotation', () => {
  let databases: Databases
  let shards: Shards
  let store: RefreshTokenStore

  beforeAll(async () => {
    databases = await openPglite({ shardCount: 2 })
    await migrate(databases)
    shards = createShards(databases.shards)
    store = createRefreshTokenStore(shards, 3_600)
  }, 60_000)
  afterAll(async () => {
    await databases?.close()
  })

  /** Every token row of a session, oldest first. */
  const rowsOf = async (userId: string, familyId: string) => {
    const db = shards.forUser(userId)
    return db.query<{ id: string; revoked: boolean }>(
      `SELECT id, revoked_at IS NOT NULL AS revoked FROM ${db.schema}.refresh_tokens
       WHERE user_id = $1 AND family_id = $2 ORDER BY created_at, revoked_at NULLS LAST`,
      [userId, familyId],
    )
  }

  it('revokes the token and issues its successor in the same session', async () => {
    const userId = randomUUID()
    const first = await store.issue(userId)
    const rotated = await store.rotate(first.token)
    expect(rotated).toMatchObject({ ok: true, userId, familyId: first.familyId })
    if (!rotated.ok) return
    expect(rotated.token).not.toBe(first.token)
    const rows = await rowsOf(userId, first.familyId)
    expect(rows).toHaveLength(2)
    expect(rows.find((r) => r.id === parseRefreshToken(first.token)!.id)?.revoked).toBe(true)
    expect(rows.find((r) => r.id === parseRefreshToken(rotated.token)!.id)?.revoked).toBe(false)
    // The successor rotates in turn.
    expect((await store.rotate(rotated.token)).ok).toBe(true)
  })

  it('revokes nothing when its successor cannot be written: the session survives a failed refresh', async () => {
    const userId = randomUUID()
    const first = await store.issue(userId)
    const db = shards.forUser(userId)
    // A new token row (not yet revoked) now fails to insert; revoking a row still works.
    await db.query(
      `ALTER TABLE ${db.schema}.refresh_tokens ADD CONSTRAINT refuse_new CHECK (revoked_at IS NOT NULL) NOT VALID`,
    )
    try {
      await expect(store.rotate(first.token)).rejects.toThrow(/refuse_new/)
    } finally {
      await db.query(`ALTER TABLE ${db.schema}.refresh_tokens DROP CONSTRAINT refuse_new`)
    }
    expect(await rowsOf(userId, first.familyId)).toEqual([
      { id: parseRefreshToken(first.token)!.id, revoked: false },
    ])
    expect((await store.rotate(first.token)).ok).toBe(true)
  })

  it('treats a second use of a rotated token as theft and ends the whole session', async () => {
    const userId = randomUUID()
    const first = await store.issue(userId)
    const rotated = await store.rotate(first.token)
    expect(rotated.ok).toBe(true)
    expect(await store.rotate(first.token)).toEqual({ ok: false, reason: 'reused' })
    const rows = await rowsOf(userId, first.familyId)
    expect(rows.every((r) => r.revoked)).toBe(true)
    if (rotated.ok) expect(await store.rotate(rotated.token)).toEqual({ ok: false, reason: 'reused' })
  })

  it('lets exactly one of two concurrent refreshes with the same token win', async () => {
    const userId = randomUUID()
    const first = await store.issue(userId)
    const outcomes = await Promise.all([store.rotate(first.token), store.rotate(first.token)])
    expect(outcomes.filter((o) => o.ok)).toHaveLength(1)
    expect(outcomes.filter((o) => !o.ok)).toEqual([{ ok: false, reason: 'reused' }])
  })

  it('revokes an expired token without a successor', async () => {
    const userId = randomUUID()
    const first = await store.issue(userId)
    const db = shards.forUser(userId)
    await db.query(
      `UPDATE ${db.schema}.refresh_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1`,
      [userId],
    )
    expect(await store.rotate(first.token)).toEqual({ ok: false, reason: 'expired' })
    const rows = await rowsOf(userId, first.familyId)
    expect(rows).toEqual([{ id: parseRefreshToken(first.token)!.id, revoked: true }])
  })

  it('refuses tokens that are malformed, unknown or carry a wrong secret, writing nothing', async () => {
    const userId = randomUUID()
    const first = await store.issue(userId)
    const [, id] = first.token.split('.')
    expect(await store.rotate('not-a-token')).toEqual({ ok: false, reason: 'invalid' })
    expect(await store.rotate(`${userId}.${randomUUID()}.secret`)).toEqual({ ok: false, reason: 'invalid' })
    expect(await store.rotate(`${userId}.${id}.wrong-secret`)).toEqual({ ok: false, reason: 'invalid' })
    expect(await rowsOf(userId, first.familyId)).toEqual([{ id, revoked: false }])
  })
})
