/**
 * The seed's scenario mix (auth flow, content retrieval, business profile operations,
 * analytics events) as weighted request builders. Each connection is one user with
 * its own IP, tokens and profiles; state carried between its requests (rotated refresh
 * token, content ids, created profiles) lives in its slot.
 */
export interface LoadUser {
  id: string
  email: string
  password: string
  accessToken: string
  refreshToken: string
  profileIds: string[]
  contentIds: string[]
  ip: string
  tier: 'free' | 'basic' | 'premium'
  /** The kind of the request sent and not answered yet (a run that ended abandons its last one). */
  awaiting?: string
  /** The refresh token is no longer good (a refused or lost refresh): log in again, as a client would. */
  needsLogin?: boolean
}

export interface Request {
  method: 'GET' | 'POST' | 'PATCH'
  path: string
  body?: string
  /** What the response carries back into the user's state. */
  kind: string
}

type Step = { weight: number; kind: string; build: (user: LoadUser) => Request }

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!

export const STEPS: Step[] = [
  // Content retrieval (45 %)
  {
    weight: 30,
    kind: 'content-daily',
    build: (u) => ({
      method: 'GET',
      path: `/api/content/daily?profileId=${pick(u.profileIds)}`,
      kind: 'content-daily',
    }),
  },
  {
    weight: 8,
    kind: 'content-list',
    build: () => ({ method: 'GET', path: '/api/content?limit=10', kind: 'content-list' }),
  },
  {
    weight: 7,
    kind: 'content-by-id',
    build: (u) =>
      u.contentIds.length > 0
        ? { method: 'GET', path: `/api/content/${pick(u.contentIds)}`, kind: 'content-by-id' }
        : {
            method: 'GET',
            path: `/api/content/daily?profileId=${pick(u.profileIds)}`,
            kind: 'content-daily',
          },
  },
  // Business profile operations (30 %)
  {
    weight: 14,
    kind: 'profiles-list',
    build: () => ({ method: 'GET', path: '/api/business-profiles?limit=20', kind: 'profiles-list' }),
  },
  {
    weight: 10,
    kind: 'profile-get',
    build: (u) => ({
      method: 'GET',
      path: `/api/business-profiles/${pick(u.profileIds)}`,
      kind: 'profile-get',
    }),
  },
  {
    weight: 4,
    kind: 'profile-update',
    build: (u) => ({
      method: 'PATCH',
      path: `/api/business-profiles/${pick(u.profileIds)}`,
      body: JSON.stringify({ location: pick(['Lisbon', 'Berlin', 'Oslo', 'Porto', 'Lyon']) }),
      kind: 'profile-update',
    }),
  },
  {
    weight: 2,
    kind: 'profile-create',
    build: () => ({
      method: 'POST',
      path: '/api/business-profiles',
      body: JSON.stringify({
        name: 'Load Test Ltd',
        industry: 'Testing',
        foundingDate: '2020-06-15',
        location: 'Cloud',
      }),
      kind: 'profile-create',
    }),
  },
  // Analytics events (15 %)
  {
    weight: 15,
    kind: 'analytics',
    build: () => ({
      method: 'POST',
      path: '/api/analytics/events',
      body: JSON.stringify({
        events: [
          { type: 'page_view', properties: { page: pick(['/home', '/daily', '/reports']) } },
          { type: 'click', properties: { target: 'cta' } },
        ],
      }),
      kind: 'analytics',
    }),
  },
  // Auth flow (10 %): who am I, token refresh (rotation), and the odd password login.
  { weight: 7.8, kind: 'me', build: () => ({ method: 'GET', path: '/api/users/me', kind: 'me' }) },
  {
    weight: 2,
    kind: 'refresh',
    build: (u) => ({
      method: 'POST',
      path: '/api/auth/refresh',
      body: JSON.stringify({ refreshToken: u.refreshToken }),
      kind: 'refresh',
    }),
  },
  {
    weight: 0.2,
    kind: 'login',
    build: (u) => ({
      method: 'POST',
      path: '/api/auth/login',
      body: JSON.stringify({ email: u.email, password: u.password }),
      kind: 'login',
    }),
  },
]

const total = STEPS.reduce((sum, step) => sum + step.weight, 0)

/** The next request of a user, drawn by weight. */
export function nextRequest(user: LoadUser): Request {
  // A refresh whose answer never came (the previous run ended first) may have rotated the
  // token: presenting the old one again would be refused as reuse. Log in instead.
  const request = user.needsLogin || user.awaiting === 'refresh' ? LOGIN.build(user) : drawStep().build(user)
  user.awaiting = request.kind
  return request
}

const LOGIN = STEPS.find((step) => step.kind === 'login')!

function drawStep(): Step {
  let roll = Math.random() * total
  for (const step of STEPS) {
    roll -= step.weight
    if (roll < 0) return step
  }
  return STEPS[0]!
}

/** Folds a response back into the user's state. */
export function onResponse(user: LoadUser, kind: string, status: number, body: string): void {
  user.awaiting = undefined
  if (kind === 'refresh' && status === 401) user.needsLogin = true
  if (status >= 300) return
  if (kind === 'refresh' || kind === 'login') {
    const parsed = JSON.parse(body) as { accessToken: string; refreshToken: string }
    user.accessToken = parsed.accessToken
    user.refreshToken = parsed.refreshToken
    user.needsLogin = false
  } else if (kind === 'content-daily' && user.contentIds.length < 8) {
    const id = (JSON.parse(body) as { id: string }).id
    if (!user.contentIds.includes(id)) user.contentIds.push(id)
  } else if (kind === 'profile-create' && user.profileIds.length < 6) {
    user.profileIds.push((JSON.parse(body) as { id: string }).id)
  }
}
