// A fifth shard database joins a running corp-astro (2 workers, real Postgres, Redis)
// under steady load, through `pnpm shard:add`, whose first run is killed mid-copy.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { redisAvailable, waitUntil } from '@headroom/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type LogicalCluster,
  logicalClusterAvailable,
  startLogicalCluster,
} from '../../../packages/shard/test/fixtures/logical-cluster.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const children = new Set<ChildProcess>()

function run(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  let output = ''
  child.stdout!.on('data', (chunk) => {
    output += chunk
  })
  child.stderr!.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  void exited.then(() => children.delete(child))
  return { child, output: () => output, exited }
}

const TABLES = ['users', 'user_emails', 'business_profiles', 'refresh_tokens'] as const

describe.runIf(logicalClusterAvailable() && redisAvailable())(
  'adding a shard database to a running corp-astro',
  () => {
    let cluster: LogicalCluster
    const pools: pg.Pool[] = []
    let main: string
    const shardUrls: string[] = []
    let fifth: string

    beforeAll(async () => {
      cluster = await startLogicalCluster()
      main = await cluster.createDatabase('main')
      for (let i = 0; i < 4; i++) shardUrls.push(await cluster.createDatabase(`shard${i}`))
      fifth = await cluster.createDatabase('shard4')
    }, 120_000)

    afterAll(async () => {
      for (const child of children) child.kill('SIGKILL')
      await Promise.all(pools.map((p) => p.end().catch(() => {})))
      await cluster?.stop()
    }, 60_000)

    const count = async (url: string, table: string) => {
      const pool = new pg.Pool({ connectionString: url, max: 1 })
      pools.push(pool)
      return Number((await pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n)
    }
    const totals = async (urls: string[]) => {
      const out = { users: 0, user_emails: 0, business_profiles: 0, refresh_tokens: 0 }
      for (const table of TABLES) {
        for (const url of urls) out[table] += await count(url, table)
      }
      return out
    }

    it('keeps every user able to log in, read and write throughout; only bounded 503s at cut-overs', async () => {
      const port = 20_000 + Math.floor(Math.random() * 20_000)
      const env = {
        DATABASE_URL: main,
        SHARD_DATABASE_URLS: shardUrls.join(','),
        SHARD_COUNT: '4',
        REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
        REDIS_PREFIX: `shardmove-${randomBytes(4).toString('hex')}`,
        PORT: String(port),
        HOST: '127.0.0.1',
        WEB_CONCURRENCY: '2',
        PG_POOL_MAX: '4',
        LOG_LEVEL: 'warn',
        SEED: 'false',
        TRUST_PROXY: 'true',
        NODE_ENV: 'test',
        // Three processes and a private Postgres on a shared 2-core box: no load shedding here.
        SHED_EVENT_LOOP_DELAY_MS: '5000',
      }
      const app = run(['src/main.ts'], { ...env, LOG_LEVEL: 'info' })
      // Generous: three processes importing through tsx on a shared, busy 2-core box.
      await waitUntil(() => app.output().includes('(2 workers)'), { timeoutMs: 180_000, what: 'the cluster' })
      const base = `http://127.0.0.1:${port}`
      const call = async (
        path: string,
        init: { method?: string; body?: unknown; token?: string; ip: string },
      ) => {
        const res = await fetch(`${base}${path}`, {
          method: init.method ?? 'GET',
          headers: {
            'content-type': 'application/json',
            // One address per user: the auth limit (20/min) is per client IP.
            'x-forwarded-for': init.ip,
            ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
          },
          ...(init.body ? { body: JSON.stringify(init.body) } : {}),
        })
        const text = await res.text()
        return {
          status: res.status,
          body: text ? JSON.parse(text) : undefined,
          retryAfter: res.headers.get('retry-after'),
        }
      }

      interface User {
        email: string
        ip: string
        token: string
        name: string
        lastLogin: number
      }
      const users: User[] = []
      for (let i = 0; i < 48; i++) {
        const email = `mover-${i}@example.com`
        const ip = `10.9.${i >> 8}.${i & 255}`
        const reg = await call('/api/auth/register', {
          method: 'POST',
          ip,
          body: { email, password: 'correct horse battery', name: `User ${i}` },
        })
        expect(reg.status, JSON.stringify(reg.body)).toBe(201)
        const user: User = { email, ip, token: reg.body.accessToken, name: `User ${i}`, lastLogin: 0 }
        const profile = await call('/api/business-profiles', {
          method: 'POST',
          ip,
          token: user.token,
          body: { name: `Co ${i}`, industry: 'tech', foundingDate: '2020-01-01', location: 'Paris' },
        })
        expect(profile.status, JSON.stringify(profile.body)).toBe(201)
        users.push(user)
      }
      const before = await totals(shardUrls)
      expect(before.users).toBe(users.length)

      // Steady load: each user in turn logs in (at most every 4 s: the auth limit is per
      // IP), reads their profile and business profiles, and renames themselves.
      const statuses = new Map<number, number>()
      const failures: string[] = []
      const unavailable: { at: number; path: string }[] = []
      let loading = true
      let renames = 0
      // Each login opens a session: one refresh token more.
      let sessions = 0
      const record = (path: string, res: { status: number; retryAfter: string | null }, ok: number[]) => {
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
        if (res.status === 503) {
          unavailable.push({ at: Date.now(), path })
          if (res.retryAfter === null) failures.push(`${path}: 503 without retry-after`)
        } else if (!ok.includes(res.status)) failures.push(`${path}: ${res.status}`)
        return res.status !== 503
      }
      const loadStarted = Date.now()
      const load = (async () => {
        for (let round = 0; loading; round++) {
          for (const user of users) {
            if (!loading) break
            const started = Date.now()
            if (started - user.lastLogin >= 4_000) {
              const login = await call('/api/auth/login', {
                method: 'POST',
                ip: user.ip,
                body: { email: user.email, password: 'correct horse battery' },
              })
              if (record('login', login, [200])) {
                sessions++
                user.token = login.body.accessToken
                user.lastLogin = started
              }
            }
            const me = await call('/api/users/me', { ip: user.ip, token: user.token })
            if (record('me', me, [200]) && me.body.name !== user.name)
              failures.push(`me: ${user.email} reads "${me.body.name}", wrote "${user.name}"`)
            const name = `User ${user.email} r${round}`
            const patch = await call('/api/users/me', {
              method: 'PATCH',
              ip: user.ip,
              token: user.token,
              body: { name },
            })
            if (record('patch', patch, [200])) {
              user.name = name
              renames++
            }
            const list = await call('/api/business-profiles', { ip: user.ip, token: user.token })
            if (record('profiles', list, [200]) && list.body.items.length !== 1)
              failures.push(`profiles: ${user.email} has ${list.body.items.length}`)
            // 3 API calls per user per pass; the API limit is 100/min per user.
            await new Promise((r) => setTimeout(r, 40))
          }
        }
      })()

      const adminEnv = { ...env }
      // First run of the admin command: killed once its batches are copying.
      const first = run(['src/admin/shard-add.ts', fifth], adminEnv)
      const control = new pg.Pool({ connectionString: main, max: 1 })
      pools.push(control)
      await waitUntil(
        async () => {
          const { rows } = await control
            .query(`SELECT state FROM headroom_shard_move_batches`)
            .catch(() => ({ rows: [] as { state: string }[] }))
          return rows.length > 0 && rows.some((r) => r.state === 'copying')
        },
        { timeoutMs: 60_000, intervalMs: 20, what: 'the move to start copying' },
      )
      first.child.kill('SIGKILL')
      expect(await first.exited).toBe(null)
      const states = (await control.query(`SELECT state FROM headroom_shard_move_batches`)).rows.map(
        (r) => r.state,
      )
      expect(states).not.toContain('cleaned')

      const moveStarted = Date.now()
      const second = run(['src/admin/shard-add.ts', fifth], adminEnv)
      const code = await second.exited
      const moveMs = Date.now() - moveStarted
      expect(code, second.output()).toBe(0)
      expect(second.output()).toContain('completed')

      loading = false
      await load
      // After the move every user, moved or not, logs in, reads and writes their data.
      for (const user of users) {
        await new Promise((r) => setTimeout(r, Math.max(0, user.lastLogin + 4_000 - Date.now())))
        const login = await call('/api/auth/login', {
          method: 'POST',
          ip: user.ip,
          body: { email: user.email, password: 'correct horse battery' },
        })
        expect(login.status, user.email).toBe(200)
        sessions++
        const token = login.body.accessToken
        const name = `${user.email} after`
        expect(
          (await call('/api/users/me', { method: 'PATCH', ip: user.ip, token, body: { name } })).status,
        ).toBe(200)
        const me = await call('/api/users/me', { ip: user.ip, token })
        expect(me.body.name).toBe(name)
        expect((await call('/api/business-profiles', { ip: user.ip, token })).body.items).toHaveLength(1)
      }

      const metrics = await fetch(`${base}/metrics`).then((r) => r.text())
      expect(metrics).toMatch(/corp_astro_shard_move_batches\{state="cleaned"[^}]*\} 4/)
      expect(metrics).toMatch(/corp_astro_shard_move_rows_copied\{[^}]*\} [1-9]/)

      app.child.kill('SIGTERM')
      expect(await app.exited).toBe(0)

      expect(failures).toEqual([])
      expect(renames).toBeGreaterThan(0)
      // 503s come only in the cut-overs: short bursts, none longer than the pause bound plus the poll.
      const bursts: number[] = []
      let start = unavailable[0]?.at
      let last = start
      for (const u of unavailable.slice(1)) {
        if (u.at - last! > 1_000) {
          bursts.push(last! - start!)
          start = u.at
        }
        last = u.at
      }
      if (start !== undefined) bursts.push(last! - start)
      for (const burst of bursts) expect(burst).toBeLessThan(5_000)

      const after = await totals([...shardUrls, fifth])
      expect(after).toEqual({ ...before, refresh_tokens: before.refresh_tokens + sessions })
      expect(await count(fifth, 'users')).toBeGreaterThan(0)
      // The figures for the report: requests per status, 503 bursts, the move's duration.
      console.log(
        JSON.stringify({
          statuses: Object.fromEntries(statuses),
          burstsMs: bursts,
          moveMs,
          loadMs: Date.now() - loadStarted,
          movedUsers: await count(fifth, 'users'),
          pause: second.output().match(/longest write pause \d+ ms/)?.[0],
        }),
      )
    }, 420_000)
  },
)
