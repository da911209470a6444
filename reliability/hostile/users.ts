import { type Answer, randomIp, send } from './http.js'

/** A registered user with its tokens. */
export interface TestUser {
  id: string
  email: string
  password: string
  token: string
  refreshToken: string
}

let counter = 0

/** Registers a fresh user (from its own forged client IP, which the test app trusts). */
export async function register(base: string, label = 'user', email?: string): Promise<TestUser> {
  const address = email ?? `${label}-${process.pid}-${Date.now().toString(36)}-${counter++}@hostile.test`
  const password = 'correct horse battery'
  const res = await send(base, 'POST', '/api/auth/register', {
    body: { email: address, password, name: label },
    ip: randomIp(),
  })
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${res.text}`)
  const body = res.body as { user: { id: string }; accessToken: string; refreshToken: string }
  return {
    id: body.user.id,
    email: address,
    password,
    token: body.accessToken,
    refreshToken: body.refreshToken,
  }
}

/** Moves `user` to `tier` and returns it with a token that carries the new tier. */
export async function upgrade(base: string, user: TestUser, tier: 'basic' | 'premium'): Promise<TestUser> {
  const patched = await send(base, 'PATCH', '/api/users/me', { token: user.token, body: { tier } })
  if (patched.status !== 200) throw new Error(`upgrade failed: ${patched.status} ${patched.text}`)
  const refreshed: Answer = await send(base, 'POST', '/api/auth/refresh', {
    body: { refreshToken: user.refreshToken },
  })
  if (refreshed.status !== 200) throw new Error(`refresh failed: ${refreshed.status} ${refreshed.text}`)
  const body = refreshed.body as { accessToken: string; refreshToken: string }
  return { ...user, token: body.accessToken, refreshToken: body.refreshToken }
}

export const sampleProfile = {
  name: 'Nebula Bakery',
  industry: 'Food & Beverage',
  foundingDate: '2019-03-27',
  location: 'Lisbon',
}

/** Creates a business profile for `user` and returns its id. */
export async function createProfile(base: string, user: TestUser): Promise<string> {
  const res = await send(base, 'POST', '/api/business-profiles', { token: user.token, body: sampleProfile })
  if (res.status !== 201) throw new Error(`profile failed: ${res.status} ${res.text}`)
  return (res.body as { id: string }).id
}
