import type { Database } from './database.js'

/** What {@link queryPage} selects: `columns` from `from` (a table and its WHERE, using `params`), ordered. */
export interface PageQuery {
  columns: string
  from: string
  orderBy: string
  params: readonly unknown[]
  limit: number
  offset: number
}

/**
 * One page of rows and the total in one statement (`count(*) OVER ()`) instead of a
 * second query for the count: one pool checkout, one round trip and one transaction per
 * list. A page past the end has no row to carry the total, so only then is it counted
 * on its own.
 */
export async function queryPage<Row extends object>(
  db: Database,
  query: PageQuery,
): Promise<{ items: Row[]; total: number }> {
  const n = query.params.length
  const rows = await db.query<Row & { __total: number }>(
    `SELECT ${query.columns}, count(*) OVER ()::int AS "__total" FROM ${query.from}
     ORDER BY ${query.orderBy} LIMIT $${n + 1} OFFSET $${n + 2}`,
    [...query.params, query.limit, query.offset],
  )
  if (rows.length === 0) {
    const [count] = await db.query<{ total: number }>(
      `SELECT count(*)::int AS total FROM ${query.from}`,
      query.params,
    )
    return { items: [], total: count?.total ?? 0 }
  }
  const total = rows[0]!.__total
  const items = rows.map(({ __total, ...row }) => row as unknown as Row)
  return { items, total }
}
