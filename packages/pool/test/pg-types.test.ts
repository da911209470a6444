import pg from 'pg'
import { describe, expect, it } from 'vitest'
import type { PgPoolLike } from '../src/index.js'

describe('PgPoolLike', () => {
  it('accepts a real pg.Pool without a cast (checked by tsc)', () => {
    const pool = new pg.Pool({ max: 3 })
    const target: PgPoolLike = pool
    expect(target.options.max).toBe(3)
    return pool.end()
  })
})
