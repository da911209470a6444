// After the faults: every acknowledged write and job must still be there. What is missing
// is charged to the fault it most likely belongs to, as lost items and broken promises.
import type { TestDatabase } from '../../packages/testing/src/index.js'
import { appRequire } from '../hostile/app.js'
import { request } from './load.js'
import { log } from './log.js'
import { dedupe } from './report.js'
import { results } from './results.js'
import type { Stack } from './stack.js'
import { sleep } from './wait.js'

// pg is the app's dependency, not this folder's: typed here by the little the suite uses.
interface PgClient {
  connect(): Promise<void>
  query<Row>(text: string, params?: unknown[]): Promise<{ rows: Row[] }>
  end(): Promise<void>
}
const pg = appRequire('pg') as { Client: new (options: { connectionString: string }) => PgClient }

/** Every acknowledged write and job is there: profiles readable, reports completed, events stored. */
export async function checkLosses(stack: Stack, databases: TestDatabase[], only?: string): Promise<void> {
  log('checking for lost items')
  const lostBy = new Map<string, { count: number; lines: string[] }>()
  const lose = (fault: string, what: string, count = 1) => {
    const entry = lostBy.get(fault) ?? { count: 0, lines: [] }
    entry.count += count
    entry.lines.push(what)
    lostBy.set(fault, entry)
  }
  for (const user of stack.users) {
    for (const id of user.profiles) {
      const res = await request(stack.base, 'GET', `/api/business-profiles/${id}`, {
        token: user.token,
        ip: user.ip,
      })
      if (res.status !== 200) lose(only ?? 'all', `profile ${id} answered ${res.status}`)
    }
  }
  // Jobs of a dead worker wait out their lease; retries back off: allow a generous while.
  const pending = stack.users.flatMap((user) => user.reports.map((id) => ({ user, id })))
  const deadline = Date.now() + 60_000
  const lastSeen = new Map<string, string>()
  let open = pending
  while (open.length > 0 && Date.now() < deadline) {
    const next: typeof open = []
    for (const item of open) {
      const res = await request(stack.base, 'GET', `/api/reports/${item.id}`, {
        token: item.user.token,
        ip: item.user.ip,
      })
      if (res.body?.status !== 'completed') {
        lastSeen.set(item.id, `${res.status} ${JSON.stringify(res.body)}`)
        next.push(item)
      }
    }
    open = next
    if (open.length > 0) await sleep(1_000)
  }
  for (const item of open)
    lose(
      only ?? 'worker SIGKILLed mid-job',
      `report ${item.id} never completed (last answer: ${lastSeen.get(item.id)})`,
    )
  log(`  ${pending.length} reports acknowledged, ${open.length} not completed`)

  // Analytics: each phase's events carry its own type; the batches land within seconds.
  const acked = new Map<string, number>()
  for (const user of stack.users)
    for (const [type, n] of user.events) acked.set(type, (acked.get(type) ?? 0) + n)
  const stored = async () => {
    const counts = new Map<string, number>()
    for (const db of databases.slice(1)) {
      const client = new pg.Client({ connectionString: db.url })
      await client.connect()
      try {
        const { rows } = await client.query<{ type: string; n: string }>(
          `SELECT type, count(DISTINCT id)::text AS n FROM analytics_events WHERE user_id = ANY($1::uuid[]) GROUP BY type`,
          [stack.users.map((u) => u.id)],
        )
        for (const row of rows) counts.set(row.type, (counts.get(row.type) ?? 0) + Number(row.n))
      } finally {
        await client.end()
      }
    }
    return counts
  }
  let counts = await stored()
  for (let i = 0; i < 30 && [...acked].some(([type, n]) => (counts.get(type) ?? 0) < n); i++) {
    await sleep(500)
    counts = await stored()
  }
  for (const [type, n] of acked) {
    const missing = n - (counts.get(type) ?? 0)
    if (missing > 0)
      lose(phaseOf(type, only), `${missing} of ${n} acknowledged analytics events (${type}) never stored`)
  }
  await checkCacheWrites(stack, databases, lose, only)

  for (const [faultName, { count, lines: items }] of lostBy) {
    const target =
      results.find((r) => r.fault === faultName) ??
      results.find((r) => faultName === 'all' || r.fault.startsWith(faultName))
    const row = target ?? results[results.length - 1]
    if (!row) continue
    row.lost += count
    row.broken.push(...dedupe(items).slice(0, 10))
  }
}

function phaseOf(type: string, only?: string): string {
  if (only) return only
  const key = type.replace(/^fault\./, '')
  const match = results.find((r) => r.fault.replace(/[^a-z0-9]/g, '') === key)
  return match?.fault ?? 'all'
}

/**
 * Cache writes: every profile edit acknowledged (written to its shard and through to the
 * cache) is what the database holds and what every instance serves, from any worker and
 * whichever cache tier answers. An edit served stale after recovery is a lost write: the
 * user saw it accepted, and the service went back on it.
 */
async function checkCacheWrites(
  stack: Stack,
  databases: TestDatabase[],
  lose: (fault: string, what: string) => void,
  only?: string,
): Promise<void> {
  const edited = stack.users.flatMap((user) => [...user.edits].map(([id, edit]) => ({ user, id, edit })))
  if (edited.length === 0) return
  const stored = new Map<string, string>()
  for (const db of databases.slice(1)) {
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    try {
      const { rows } = await client.query<{ id: string; location: string }>(
        'SELECT id, location FROM business_profiles WHERE id = ANY($1::uuid[])',
        [edited.map((item) => item.id)],
      )
      for (const row of rows) stored.set(row.id, row.location)
    } finally {
      await client.end()
    }
  }
  let stale = 0
  for (const { user, id, edit } of edited) {
    const fault = only ?? edit.phase
    const truth = stored.get(id)
    if (truth === undefined) continue // deleted or never stored: the profile check above counts it
    if (edit.location !== '' && truth !== edit.location && !edit.maybe.includes(truth)) {
      lose(fault, `profile ${id}: edit to "${edit.location}" acknowledged, the database holds "${truth}"`)
      continue
    }
    // An edit that was refused (503) or never answered yet landed: nothing was promised
    // about it, so the caches are not held to it.
    if (truth !== edit.location) continue
    // Several reads per instance, so each worker of a multi-worker instance is likely asked.
    for (const [index, base] of stack.bases.entries()) {
      for (let attempt = 0; attempt < (index === 0 ? 4 : 2); attempt++) {
        const res = await request(base, 'GET', `/api/business-profiles/${id}`, {
          token: user.token,
          ip: user.ip,
        })
        if (res.status === 200 && res.body?.location !== truth) {
          stale++
          lose(
            fault,
            `profile ${id}: instance ${index + 1} serves "${res.body?.location}", the acknowledged edit is "${truth}"`,
          )
          break
        }
      }
    }
  }
  log(
    `  ${edited.length} edited profiles checked on ${stack.bases.length} instance(s), ${stale} served stale`,
  )
}
