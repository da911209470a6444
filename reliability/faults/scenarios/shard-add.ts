// A fifth shard database joins a running Corp Astro under the load (`shard:add`), and
// the first mover is SIGKILLed mid-copy and run again. The promise (the app's README,
// `@headroom/shard`'s move section): every user logs in, reads and writes throughout and
// after; the only errors are 503 + Retry-After to writes of the users being moved, during
// a cut-over, each burst no longer than the 2 s write pause plus one topology poll; no
// row is lost or duplicated; the restarted mover finishes the move.
import { SHARDED_TABLES, TOPOLOGY_NAME } from '../../../examples/corp-astro/src/platform/topology.js'
import { createShardRouter } from '../../../packages/shard/src/index.js'
import { createTopologyStore } from '../../../packages/shard/src/postgres.js'
import {
  logicalClusterAvailable,
  startLogicalCluster,
} from '../../../packages/shard/test/fixtures/logical-cluster.js'
import { type TestDatabase, waitUntil } from '../../../packages/testing/src/index.js'
import { appRequire } from '../../hostile/app.js'
import { cleanups } from '../cleanups.js'
import { fault } from '../fault.js'
import { createUsers, PASSWORD, request, type Sample, type VirtualUser } from '../load.js'
import { log } from '../log.js'
import { checkLosses } from '../losses.js'
import { everyUserWrites } from '../probes.js'
import { runApp } from '../processes.js'
import { startStack, USERS } from '../stack.js'
import { sleep } from '../wait.js'

export const SHARD_ADDED = 'shard added under load (mover killed mid-copy)'

/** The mover's longest write pause per cut-over (its default, which `shard:add` keeps). */
const MAX_PAUSE_MS = 2_000
/** How often every app process reads the committed topology (the app's default). */
const TOPOLOGY_POLL_MS = 250
/**
 * How long after a cut-over ends a write may still be refused: one topology poll for the
 * last process to follow the new routing, 1 s for requests in flight.
 */
const SETTLE_MS = TOPOLOGY_POLL_MS + 1_000
/** Longest the restarted mover may take to finish (4 batches on a small data set). */
const MOVE_BOUND_MS = 180_000
/** Users the load must have on each side of the move. */
const MOVING_USERS = 3

// pg is the app's dependency, not this folder's: typed here by the little the suite uses.
interface PgClient {
  connect(): Promise<void>
  query<Row>(text: string, params?: unknown[]): Promise<{ rows: Row[] }>
  end(): Promise<void>
}
const pg = appRequire('pg') as { Client: new (options: { connectionString: string }) => PgClient }

async function withClient<T>(url: string, fn: (client: PgClient) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** Every row of every sharded table by primary key: table -> key -> databases holding it. */
async function rowKeys(urls: string[]): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>(SHARDED_TABLES.map((table) => [table, new Map()]))
  for (const url of urls) {
    await withClient(url, async (client) => {
      for (const table of SHARDED_TABLES) {
        const { rows: columns } = await client.query<{ name: string }>(
          `SELECT a.attname AS name FROM pg_index i
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
           WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY a.attnum`,
          [table],
        )
        const key = columns.map((c) => `"${c.name}"::text`).join(", '|', ")
        const { rows } = await client.query<{ k: string }>(`SELECT concat(${key}) AS k FROM ${table}`)
        const keys = out.get(table)!
        for (const row of rows) keys.set(row.k, (keys.get(row.k) ?? 0) + 1)
      }
    })
  }
  return out
}

interface Window {
  batch: number
  from: number
  to?: number
}

/** Polls the move's batches: when each was cutting over, and every state seen. */
function watchBatches(mainUrl: string) {
  const windows: Window[] = []
  const seen = new Set<string>()
  let current = new Map<number, string>()
  let running = true
  const client = new pg.Client({ connectionString: mainUrl })
  const loop = (async () => {
    await client.connect()
    while (running) {
      const { rows } = await client
        .query<{ batch: number; state: string }>(
          `SELECT batch, state FROM headroom_shard_move_batches
           WHERE move_id = (SELECT max(id) FROM headroom_shard_moves)`,
        )
        .catch(() => ({ rows: [] as { batch: number; state: string }[] }))
      const now = Date.now()
      const next = new Map(rows.map((row) => [row.batch, row.state]))
      for (const [batch, state] of next) {
        seen.add(state)
        const open = windows.find((w) => w.batch === batch && w.to === undefined)
        if (state === 'cutting-over' && !open) windows.push({ batch, from: now })
        if (state !== 'cutting-over' && open) open.to = now
      }
      current = next
      await sleep(10)
    }
    await client.end()
  })()
  return {
    windows,
    seen: (state: string) => seen.has(state),
    states: () => [...current.values()],
    async stop() {
      running = false
      await loop
      const end = Date.now()
      for (const w of windows) w.to ??= end
    },
  }
}

/** Rows on a database the committed topology does not route their logical shard to. */
async function misplacedRows(mainUrl: string, databases: TestDatabase[]): Promise<string[]> {
  const store = createTopologyStore({ connectionString: mainUrl, name: TOPOLOGY_NAME })
  const topology = await store.load().finally(() => store.close())
  // The layout's documented JSON: each logical shard's owner slot, little-endian, base64.
  const owners = Buffer.from(topology.layout.owners, 'base64')
  const wide = topology.layout.shards.length > 65_536
  const ownerOf = (ls: number) =>
    topology.layout.shards[wide ? owners.readUInt32LE(ls * 4) : owners.readUInt16LE(ls * 2)]!.id
  const idOf = new Map(topology.shards.map((shard) => [shard.url, shard.id]))
  const out: string[] = []
  for (const db of databases) {
    await withClient(db.url, async (client) => {
      for (const table of SHARDED_TABLES) {
        const { rows } = await client.query<{ ls: number; n: string }>(
          `SELECT logical_shard AS ls, count(*)::text AS n FROM ${table} GROUP BY 1`,
        )
        for (const row of rows) {
          const owner = ownerOf(row.ls)
          if (owner !== idOf.get(db.url))
            out.push(
              `${table}: ${row.n} row(s) of logical shard ${row.ls} left on ${db.name}, routed to ${owner}`,
            )
        }
      }
    })
  }
  return out
}

/** The users each key's owner changes for, when a shard `id` at `url` joins the stored topology. */
async function movingKeys(mainUrl: string, id: string, url: string): Promise<(key: string) => boolean> {
  const store = createTopologyStore({ connectionString: mainUrl, name: TOPOLOGY_NAME })
  const topology = await store.load().finally(() => store.close())
  const specs = topology.shards.map((s) => ({ id: s.id, weight: s.weight, primary: s.url }))
  const now = createShardRouter({ shards: specs, layout: topology.layout })
  const newcomer = { id, weight: 1, primary: url }
  const plan = now.plan([...now.shards, newcomer])
  const next = createShardRouter({ shards: [...specs, newcomer], layout: plan.layout })
  return (key) => now.shardFor(key).id !== next.shardFor(key).id
}

export async function shardAdded(options: {
  env: (extra: Record<string, string>) => Record<string, string>
  redisUrl: string
  label: string
}): Promise<void> {
  if (!logicalClusterAvailable()) {
    const why = 'no Postgres 15 server binaries to start a wal_level = logical cluster'
    if (process.env.CI === 'true') throw new Error(`"${SHARD_ADDED}" cannot run: ${why}`)
    log(`skipping "${SHARD_ADDED}": ${why}`)
    return
  }
  log('starting a Postgres cluster with wal_level = logical (main + 4 shards + the fifth)')
  const cluster = await startLogicalCluster()
  cleanups.push(() => cluster.stop())
  const { label } = options
  const database = async (name: string): Promise<TestDatabase> => ({
    name,
    url: await cluster.createDatabase(`${label}_${name}`),
    drop: async () => {},
  })
  const main = await database('main')
  const shards: TestDatabase[] = []
  for (let i = 0; i < 4; i++) shards.push(await database(`s${i}`))
  const fifth = await database('s4')
  const env = options.env({
    DATABASE_URL: main.url,
    SHARD_DATABASE_URLS: shards.map((db) => db.url).join(','),
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: `${label}m`,
  })

  // The load's users: MOVING_USERS whose rows the move takes, the others staying.
  let moves: (key: string) => boolean = () => false
  const pickUsers = async (base: string) => {
    moves = await movingKeys(main.url, 'shard-4', fifth.url)
    const moving: VirtualUser[] = []
    const staying: VirtualUser[] = []
    for (let i = 0; moving.length + staying.length < USERS && i < 80; i++) {
      const [user] = await createUsers(base, 1, 'move')
      if (moves(user!.id)) {
        if (moving.length < MOVING_USERS) moving.push(user!)
      } else if (staying.length < USERS - MOVING_USERS) staying.push(user!)
    }
    if (moving.length < MOVING_USERS) throw new Error(`only ${moving.length} registered users move`)
    log(`  ${moving.length} of the load's ${USERS} users move`)
    return [...moving, ...staying]
  }
  const stack = await startStack(env, 'standalone', { users: pickUsers, loginEveryMs: 8_000 })
  await sleep(3_000)
  const sources = shards.map((db) => db.url)
  const before = await rowKeys(sources)

  const watcher = watchBatches(main.url)
  const mover: string[] = []
  const figures: string[] = []
  let movedUsers = new Set<string>()
  let killedMidCopy = false
  const result = await fault(stack, {
    name: SHARD_ADDED,
    // The move ends with the routing switched: users must be served at once.
    recoveryBoundMs: 10_000,
    faultMs: 0,
    async inject() {
      log(`  shard:add ${fifth.name}, killed once its batches copy`)
      const first = runApp('src/admin/shard-add.ts', env, [fifth.url])
      await waitUntil(() => watcher.seen('copying') || first.process.exitCode !== null, {
        timeoutMs: 120_000,
        intervalMs: 5,
        what: 'the move to start copying',
      })
      first.process.kill('SIGKILL')
      await first.exited
      const states = watcher.states()
      killedMidCopy = states.includes('copying') && !states.includes('cleaned')
      if (!killedMidCopy)
        mover.push(`the first mover was not killed mid-copy (batches: ${states.join(', ') || 'none'})`)
      log(`  killed the mover with its batches ${states.join(', ')}; running it again`)
      const started = Date.now()
      const second = runApp('src/admin/shard-add.ts', env, [fifth.url])
      const code = await Promise.race([second.exited, sleep(MOVE_BOUND_MS).then(() => 'timeout' as const)])
      if (code === 'timeout') {
        await second.stop('SIGKILL')
        mover.push(`the restarted mover did not finish within ${MOVE_BOUND_MS / 1000} s`)
      } else if (code !== 0 || !second.output().includes('completed'))
        mover.push(`the restarted mover exited ${code}: ${second.output().slice(-400)}`)
      await watcher.stop()
      const { rows: batches } = await withClient(main.url, (client) =>
        client.query<{ state: string; pause_ms: number | null; rows_copied: string; attempts: number }>(
          `SELECT state, pause_ms, rows_copied::text, attempts FROM headroom_shard_move_batches
           WHERE move_id = (SELECT max(id) FROM headroom_shard_moves) ORDER BY batch`,
        ),
      )
      const unfinished = batches.filter((b) => b.state !== 'cleaned')
      if (batches.length === 0 || unfinished.length > 0)
        mover.push(`the move did not finish: batches ${batches.map((b) => b.state).join(', ')}`)
      for (const b of batches)
        if ((b.pause_ms ?? 0) > MAX_PAUSE_MS) mover.push(`a cut-over paused writes ${b.pause_ms} ms`)
      const ids = stack.users.map((u) => u.id)
      movedUsers = new Set(
        await withClient(fifth.url, async (client) => {
          const users = await client.query<{ id: string }>(
            'SELECT id::text FROM users WHERE id = ANY($1::uuid[])',
            [ids],
          )
          const emails = await client.query<{ id: string }>(
            'SELECT user_id::text AS id FROM user_emails WHERE user_id = ANY($1::uuid[])',
            [ids],
          )
          return [...users.rows, ...emails.rows].map((row) => row.id)
        }),
      )
      figures.push(
        `move ${((Date.now() - started) / 1000).toFixed(1)} s after the restart, ${batches.length} batches, ` +
          `write pauses ${batches.map((b) => `${b.pause_ms ?? '-'}`).join('/')} ms ` +
          `(cut-overs tried ${batches.reduce((n, b) => n + b.attempts, 0) + batches.length}), ` +
          `${batches.reduce((n, b) => n + Number(b.rows_copied), 0)} rows copied, ` +
          `${movedUsers.size} of ${stack.users.length} load users moved`,
      )
    },
    async heal() {},
    probe: () => everyUserWrites(stack),
    judge: (samples) => judge503s(samples, { windows: watcher.windows, moved: movedUsers, figures }),
  })
  result.broken.push(...mover)

  await stack.load.stop()
  // After the move every user, moved or not, logs in and renames themselves (read back below).
  const renamed = new Map<VirtualUser, string>()
  for (const user of stack.users) {
    const login = await request(stack.base, 'POST', '/api/auth/login', {
      ip: user.ip,
      body: { email: user.email, password: PASSWORD },
    })
    if (login.status !== 200) {
      result.broken.push(`after the move, ${user.email} cannot log in: ${login.status}`)
      continue
    }
    user.token = login.body.accessToken
    const name = `after ${user.id.slice(0, 8)}`
    const patch = await request(stack.base, 'PATCH', '/api/users/me', {
      ip: user.ip,
      token: user.token,
      body: { name },
    })
    if (patch.status === 200) renamed.set(user, name)
    else result.broken.push(`after the move, ${user.email} cannot rename: ${patch.status}`)
  }
  const metrics = await fetch(`${stack.base}/metrics`).then((res) => res.text())
  if (!/corp_astro_shard_move_batches\{state="cleaned"[^}]*\} [1-9]/.test(metrics))
    result.broken.push('/metrics does not show the move cleaned')
  await checkLosses(stack, [main, ...shards, fifth], SHARD_ADDED)

  // The renames, read back once the loss checks gave every worker's cache time to settle.
  for (const [user, name] of renamed) {
    const reads: string[] = []
    // Several reads, so each worker is likely asked.
    for (let i = 0; i < 4; i++)
      reads.push(
        (await request(stack.base, 'GET', '/api/users/me', { ip: user.ip, token: user.token })).body?.name,
      )
    if (reads.every((read) => read === name)) continue
    const stored: string[] = []
    for (const db of [...shards, fifth])
      await withClient(db.url, async (client) => {
        const { rows } = await client.query<{ name: string }>('SELECT name FROM users WHERE id = $1', [
          user.id,
        ])
        for (const row of rows) stored.push(`${db.name} "${row.name}"`)
      })
    result.broken.push(
      `user ${user.id} (${movedUsers.has(user.id) ? 'moved' : 'not moved'}): renamed "${name}" (200), reads ${reads.map((n) => `"${n}"`).join(', ')}; the database holds ${stored.join(', ') || 'nothing'}`,
    )
  }

  // Rows: every row there before the move is on exactly one database after it.
  const after = await rowKeys([...sources, fifth.url])
  const counts: string[] = []
  let lost = 0
  let duplicated = 0
  for (const table of SHARDED_TABLES) {
    const was = before.get(table)!
    const now = after.get(table)!
    let missing = 0
    for (const key of was.keys()) if (!now.has(key)) missing++
    let twice = 0
    for (const n of now.values()) if (n > 1) twice++
    lost += missing
    duplicated += twice
    if (missing > 0) result.broken.push(`${table}: ${missing} rows there before the move are gone`)
    if (twice > 0) result.broken.push(`${table}: ${twice} rows on two databases after the move`)
    counts.push(`${table} ${was.size}→${now.size}`)
  }
  result.lost += lost
  const misplaced = await misplacedRows(main.url, [...shards, fifth])
  result.broken.push(...misplaced)
  const fifthUsers = await withClient(fifth.url, (client) =>
    client.query<{ n: string }>('SELECT count(*)::text AS n FROM users'),
  )
  if (Number(fifthUsers.rows[0]!.n) === 0) result.broken.push('the fifth shard holds no user')
  figures.push(
    `rows before → after (written meanwhile included): ${counts.join(', ')}; ${lost} lost, ${duplicated} duplicated, ${misplaced.length} groups misplaced`,
  )
  for (const line of figures) log(`  ${line}`)
  await stack.app.stop('SIGTERM', 20_000)
}

/**
 * The 503s the move may cause: to users whose rows it moves, on requests that write,
 * answered while a batch was cutting over (as the poll of the batches saw it) or at most
 * {@link SETTLE_MS} after; how long each cut-over paused writes is the mover's record. Any other refusal breaks the promise that every user is served
 * throughout.
 */
function judge503s(
  samples: Sample[],
  context: { windows: Window[]; moved: Set<string>; figures: string[] },
): string[] {
  const broken: string[] = []
  let refused = 0
  let longest = 0
  for (const s of samples) {
    if (s.verdict !== 'clean') continue
    if (s.status !== 503) {
      broken.push(`${s.op}: ${s.status} ${s.detail ?? ''} (only 503s during a cut-over are promised)`)
      continue
    }
    refused++
    if (!context.moved.has(s.user)) broken.push(`${s.op}: 503 to a user the move does not touch`)
    if (s.op.startsWith('GET ') && s.op !== 'GET /api/content/daily')
      broken.push(`${s.op}: 503 on a read (reads never wait for a cut-over)`)
    // Refused between a cut-over's start and one topology poll (+1 s in flight) after it ended.
    const answered = s.at + s.ms
    const own = context.windows.filter((w) => w.from <= answered)
    const after = Math.min(...own.map((w) => answered - (w.to ?? Date.now())))
    if (own.length === 0) broken.push(`${s.op}: 503 (${s.detail}) before any cut-over`)
    else if (after > SETTLE_MS)
      broken.push(
        `${s.op}: 503 (${s.detail}) answered ${after} ms after its cut-over ended, over ${SETTLE_MS} ms`,
      )
    else longest = Math.max(longest, after)
  }
  // Whether the requests that went unanswered did so during a cut-over (the move) or not (a busy host).
  const hangs = samples.filter((s) => s.verdict === 'hang')
  const hungInCutOver = hangs.filter((s) =>
    context.windows.some((w) => s.at + s.ms >= w.from && s.at <= (w.to ?? Date.now())),
  ).length
  context.figures.push(
    `${hangs.length} requests unanswered in 5 s, ${hungInCutOver} of them overlapping a cut-over`,
  )
  context.figures.push(
    `${refused} 503s, the latest answered ${longest} ms after its cut-over ended (bound ${SETTLE_MS} ms); ` +
      `${context.windows.length} cut-over(s), longest ${Math.max(0, ...context.windows.map((w) => (w.to ?? 0) - w.from))} ms as polled (fence to routing switch and cleanup)`,
  )
  return broken
}
