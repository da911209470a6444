import { randomBytes } from 'node:crypto'

/** How long a client waits before it calls a request hung. Far above any promised bound. */
export const REQUEST_TIMEOUT_MS = 5_000

/** One request as the load saw it. */
export interface Sample {
  at: number
  ms: number
  op: string
  /** The virtual user who sent it (faults that hit some users judge them apart). */
  user: string
  /** The instance that answered (index in the stack's bases). */
  instance: number
  status: number
  /** `ok`, `clean` (429/503 + Retry-After + problem+json), `reset` (socket closed under it), or what broke. */
  verdict: 'ok' | 'clean' | 'reset' | 'hang' | 'broken'
  detail?: string
}

/** A user the load acts as, with what the service acknowledged to it. */
export interface VirtualUser {
  id: string
  email: string
  token: string
  ip: string
  profiles: string[]
  reports: string[]
  events: Map<string, number>
  /**
   * The last acknowledged edit of each profile (its `location`) and the phase it was made
   * in: after the faults every instance must answer it, whichever cache tier serves it.
   */
  edits: Map<string, ProfileEdit>
}

/** What a profile's `location` must read after the faults. */
export interface ProfileEdit {
  /** The last acknowledged value. */
  location: string
  /** The fault it was acknowledged under. */
  phase: string
  /** Values of later edits that were not acknowledged (no answer, 503): they may have landed. */
  maybe: string[]
}

/** Every virtual user's password. */
export const PASSWORD = 'correct horse battery'

const STACK = /\n\s+at |node:internal|\.ts:\d+/

async function request(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; ip?: string } = {},
): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const headers: Record<string, string> = { 'x-forwarded-for': options.ip ?? '10.0.0.1' }
  if (options.token) headers.authorization = `Bearer ${options.token}`
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  })
  const text = await response.text()
  let body: any
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {}
  return { status: response.status, headers: response.headers, body, text }
}

export { request }

function titleOf(text: string): string {
  try {
    return String(JSON.parse(text).title)
  } catch {
    return ''
  }
}

/** Judges one answer: clean refusals are promised; anything else outside 2xx is broken. */
function judge(
  res: { status: number; headers: Headers; text: string },
  expected: number[],
): Pick<Sample, 'verdict' | 'detail'> {
  if (STACK.test(res.text)) return { verdict: 'broken', detail: `stack trace in a ${res.status} body` }
  if (expected.includes(res.status)) return { verdict: 'ok' }
  if (res.status === 429 || res.status === 503) {
    const problem = (res.headers.get('content-type') ?? '').startsWith('application/problem+json')
    // The problem's title says which refusal it was (a shed request, a dependency down).
    if (res.headers.get('retry-after') && problem) return { verdict: 'clean', detail: titleOf(res.text) }
    return { verdict: 'broken', detail: `${res.status} without Retry-After or problem+json` }
  }
  return { verdict: 'broken', detail: `${res.status} ${res.text.slice(0, 160)}` }
}

/** Registers `count` premium users (higher limits, so the load measures faults, not limits). */
export async function createUsers(base: string, count: number, label: string): Promise<VirtualUser[]> {
  const users: VirtualUser[] = []
  for (let i = 0; i < count; i++) {
    const ip = `10.${i + 1}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`
    const email = `${label}-${i}-${randomBytes(4).toString('hex')}@faults.test`
    const reg = await request(base, 'POST', '/api/auth/register', {
      ip,
      body: { email, password: PASSWORD, name: `${label} ${i}` },
    })
    if (reg.status !== 201) throw new Error(`register: ${reg.status} ${reg.text}`)
    const token0: string = reg.body.accessToken
    const up = await request(base, 'PATCH', '/api/users/me', { ip, token: token0, body: { tier: 'premium' } })
    if (up.status !== 200) throw new Error(`upgrade: ${up.status} ${up.text}`)
    const refreshed = await request(base, 'POST', '/api/auth/refresh', {
      ip,
      body: { refreshToken: reg.body.refreshToken },
    })
    if (refreshed.status !== 200) throw new Error(`refresh: ${refreshed.status} ${refreshed.text}`)
    users.push({
      id: reg.body.user.id,
      email,
      token: refreshed.body.accessToken,
      ip,
      profiles: [],
      reports: [],
      events: new Map(),
      edits: new Map(),
    })
  }
  return users
}

export interface LoadOptions {
  /** Pause between one user's requests (half to one and a half times this), ms. */
  pauseMs: number
  /**
   * Each user also logs in again this often (a new session and token), ms; none when unset.
   * Keep it above 3 s: the app allows 20 logins a minute per client address.
   */
  loginEveryMs?: number
}

/**
 * A steady, bounded load: each virtual user runs one request at a time with a pause
 * between, a mix of reads, writes (profiles), jobs (reports), analytics and content
 * generation (which calls the astro service). Samples go to the current sink.
 */
export function startLoad(bases: string[], users: VirtualUser[], options: LoadOptions) {
  let running = true
  const loggedInAt = new Map(users.map((user) => [user.id, Date.now()]))
  let sink: Sample[] = []
  let phase = 'warmup'
  let phaseName = 'warmup'
  const record = (sample: Sample) => sink.push(sample)

  const step = async (user: VirtualUser) => {
    // Each request goes to any instance: what one acknowledges, all must serve.
    const instance = Math.floor(Math.random() * bases.length)
    const base = bases[instance]!
    const timed = async (
      op: string,
      expected: number[],
      call: () => Promise<{ status: number; headers: Headers; body: any; text: string }>,
    ) => {
      const at = Date.now()
      const who = { at, op, user: user.id, instance }
      try {
        const res = await call()
        record({ ...who, ms: Date.now() - at, status: res.status, ...judge(res, expected) })
        return res
      } catch (error) {
        const ms = Date.now() - at
        const name = (error as Error).name
        const hang = name === 'TimeoutError' || name === 'AbortError'
        record({
          ...who,
          ms,
          status: 0,
          verdict: hang ? 'hang' : 'reset',
          detail: hang
            ? `no answer in ${REQUEST_TIMEOUT_MS} ms`
            : String((error as Error).cause ?? error).slice(0, 120),
        })
        return undefined
      }
    }
    if (options.loginEveryMs !== undefined && Date.now() - loggedInAt.get(user.id)! >= options.loginEveryMs) {
      loggedInAt.set(user.id, Date.now())
      const login = await timed('POST /api/auth/login', [200], () =>
        request(base, 'POST', '/api/auth/login', {
          ip: user.ip,
          body: { email: user.email, password: PASSWORD },
        }),
      )
      if (login?.status === 200) user.token = login.body.accessToken
      return
    }
    const { token, ip } = user
    const roll = Math.random()
    if (roll < 0.25) {
      await timed('GET /api/users/me', [200], () => request(base, 'GET', '/api/users/me', { token, ip }))
    } else if (roll < 0.4) {
      await timed('GET /api/content', [200], () =>
        request(base, 'GET', '/api/content?page=1&limit=5', { token, ip }),
      )
    } else if (roll < 0.6) {
      const created = await timed('POST /api/business-profiles', [201], () =>
        request(base, 'POST', '/api/business-profiles', {
          token,
          ip,
          body: {
            name: `Load ${randomBytes(3).toString('hex')}`,
            industry: 'Retail',
            foundingDate: '2015-06-15',
            location: 'Oslo',
          },
        }),
      )
      if (created?.status === 201) {
        user.profiles.push(created.body.id)
        await timed('GET /api/content/daily', [200], () =>
          request(base, 'GET', `/api/content/daily?profileId=${created.body.id}`, { token, ip }),
        )
      }
    } else if (roll < 0.75) {
      const type = `fault.${phase}`
      const sent = await timed('POST /api/analytics/events', [202], () =>
        request(base, 'POST', '/api/analytics/events', {
          token,
          ip,
          body: { events: [{ type, properties: { n: 1 } }] },
        }),
      )
      if (sent?.status === 202) user.events.set(type, (user.events.get(type) ?? 0) + 1)
    } else if (roll < 0.84 && user.profiles.length > 0) {
      const id = user.profiles[Math.floor(Math.random() * user.profiles.length)]
      await timed('GET /api/business-profiles/:id', [200], () =>
        request(base, 'GET', `/api/business-profiles/${id}`, { token, ip }),
      )
    } else if (roll < 0.92 && user.profiles.length > 0) {
      // An edit (written through to the cache): every instance must serve it afterwards.
      const id = user.profiles[Math.floor(Math.random() * user.profiles.length)]!
      const location = `City ${randomBytes(3).toString('hex')}`
      const edited = await timed('PATCH /api/business-profiles/:id', [200], () =>
        request(base, 'PATCH', `/api/business-profiles/${id}`, { token, ip, body: { location } }),
      )
      const previous = user.edits.get(id)
      if (edited?.status === 200) user.edits.set(id, { location, phase: phaseName, maybe: [] })
      else if (previous) previous.maybe.push(location)
      // Never acknowledged, no value known before: whatever the profile holds is right.
      else user.edits.set(id, { location: '', phase: phaseName, maybe: [location] })
    } else if (user.profiles.length > 0) {
      const profileId = user.profiles[user.profiles.length - 1]
      const queued = await timed('POST /api/reports/monthly', [202], () =>
        request(base, 'POST', '/api/reports/monthly', { token, ip, body: { profileId, month: '2026-10' } }),
      )
      if (queued?.status === 202) user.reports.push(queued.body.id)
    }
  }

  const loops = users.map(async (user) => {
    while (running) {
      await step(user)
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs * (0.5 + Math.random())))
    }
  })

  return {
    /** Starts a new sample window; returns the previous one. */
    phase(name: string): Sample[] {
      const previous = sink
      sink = []
      phaseName = name
      phase = name.replace(/[^a-z0-9]/g, '')
      return previous
    },
    samples: () => sink,
    async stop(): Promise<Sample[]> {
      running = false
      await Promise.all(loops)
      return sink
    },
  }
}

export type Load = ReturnType<typeof startLoad>

/** p-th percentile of answered request times (ms). */
export function percentile(samples: Sample[], p: number): number {
  const times = samples.map((s) => s.ms).sort((a, b) => a - b)
  if (times.length === 0) return 0
  return times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]!
}
