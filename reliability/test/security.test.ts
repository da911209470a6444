import { generateKeyPairSync } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HostileApp, startHostileApp } from '../hostile/app.js'
import { brokenPromise, send } from '../hostile/http.js'
import { claims, hmacToken, tamper, unsignedToken } from '../hostile/jwt.js'
import { createProfile, register, type TestUser } from '../hostile/users.js'

const SECRET = 'reliability-suite-secret-0123456789abcdef'

describe('security end to end', () => {
  let app: HostileApp
  let alice: TestUser
  let bob: TestUser

  beforeAll(async () => {
    app = await startHostileApp({ JWT_SECRET: SECRET })
    alice = await register(app.base, 'alice')
    bob = await register(app.base, 'bob')
  }, 90_000)

  afterAll(async () => {
    await app?.close()
  })

  describe('JWTs', () => {
    const refused = async (token: string) => {
      const me = await send(app.base, 'GET', '/api/users/me', { token })
      expect(brokenPromise(me)).toBeUndefined()
      expect(me.status).toBe(401)
      const summary = await send(app.base, 'GET', '/api/analytics/summary', { token })
      expect(summary.status).toBe(401)
    }

    it('accepts a token signed with the right key and algorithm (the control)', async () => {
      const token = hmacToken(
        { alg: 'HS256', typ: 'JWT' },
        claims(alice.id, { tier: 'free', role: 'user' }),
        SECRET,
      )
      const me = await send(app.base, 'GET', '/api/users/me', { token })
      expect(me.status).toBe(200)
      expect((me.body as { id: string }).id).toBe(alice.id)
    })

    it('refuses alg none, with and without a signature part, in any case', async () => {
      for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
        await refused(unsignedToken(claims(alice.id), alg))
        await refused(unsignedToken(claims(alice.id), alg, 'c2lnbmF0dXJl'))
      }
    })

    it('refuses algorithm confusion: HS384/HS512 with the real secret, RS256/ES256 headers over an HMAC', async () => {
      await refused(hmacToken({ alg: 'HS384', typ: 'JWT' }, claims(alice.id), SECRET, 'sha384'))
      await refused(hmacToken({ alg: 'HS512', typ: 'JWT' }, claims(alice.id), SECRET, 'sha512'))
      await refused(hmacToken({ alg: 'RS256', typ: 'JWT' }, claims(alice.id), SECRET))
      await refused(hmacToken({ alg: 'ES256', typ: 'JWT' }, claims(alice.id), SECRET))
      // The classic confusion: an HMAC keyed with a public key the attacker knows.
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
      const pem = publicKey.export({ type: 'spki', format: 'pem' })
      await refused(hmacToken({ alg: 'HS256', typ: 'JWT' }, claims(alice.id), pem))
      // An embedded key the verifier must never trust.
      const jwk = publicKey.export({ format: 'jwk' })
      await refused(hmacToken({ alg: 'HS256', typ: 'JWT', jwk }, claims(alice.id), SECRET.slice(1)))
    })

    it('refuses expired, not-yet-valid, wrong-issuer and wrong-audience tokens', async () => {
      const now = Math.floor(Date.now() / 1000)
      const sign = (overrides: Record<string, unknown>) =>
        hmacToken({ alg: 'HS256', typ: 'JWT' }, claims(alice.id, overrides), SECRET)
      await refused(sign({ iat: now - 7200, exp: now - 3600 }))
      await refused(sign({ exp: now - 5 }))
      await refused(sign({ nbf: now + 3600 }))
      await refused(sign({ iss: 'someone-else' }))
      await refused(sign({ aud: 'another-api' }))
    })

    it('refuses a token signed with a wrong key', async () => {
      await refused(
        hmacToken(
          { alg: 'HS256', typ: 'JWT' },
          claims(alice.id),
          'corp-astro-dev-secret-do-not-use-in-production',
        ),
      )
      await refused(hmacToken({ alg: 'HS256', typ: 'JWT' }, claims(alice.id), ''))
      await refused(hmacToken({ alg: 'HS256', typ: 'JWT' }, claims(alice.id), `${SECRET}x`))
    })

    it('refuses a real token whose payload was tampered with', async () => {
      await refused(tamper(alice.token, (p) => ({ ...p, role: 'admin' })))
      await refused(tamper(alice.token, (p) => ({ ...p, tier: 'premium' })))
      await refused(tamper(alice.token, (p) => ({ ...p, sub: bob.id })))
      await refused(tamper(alice.token, (p) => ({ ...p, exp: (p.exp as number) + 86_400 })))
      // And the untampered token still works: the refusals above are about the tampering.
      expect((await send(app.base, 'GET', '/api/users/me', { token: alice.token })).status).toBe(200)
    })

    it('refuses malformed tokens with a clean 401, never a 500', async () => {
      for (const token of [
        '',
        '.',
        '..',
        'a.b.c',
        'a.b',
        `${alice.token}.x`,
        'x'.repeat(5000),
        '\u00e9.\u00e9.\u00e9',
      ]) {
        const me = await send(app.base, 'GET', '/api/users/me', {
          headers: { authorization: `Bearer ${encodeURIComponent(token)}` },
        })
        expect(brokenPromise(me)).toBeUndefined()
        expect(me.status).toBe(401)
      }
    })
  })

  describe('cached responses never cross users', () => {
    it('daily content, content by id and /me answer each user with their own data', async () => {
      const profile = await createProfile(app.base, alice)
      const daily = `/api/content/daily?profileId=${profile}`
      const first = await send(app.base, 'GET', daily, { token: alice.token })
      expect(first.status).toBe(200)
      const again = await send(app.base, 'GET', daily, { token: alice.token })
      expect(again.status).toBe(200)
      // Bob asks the very URL Alice's answer is cached under: he must not get it.
      const stolen = await send(app.base, 'GET', daily, { token: bob.token })
      expect(stolen.status).toBe(404)
      expect(brokenPromise(stolen)).toBeUndefined()
      // Nor a 304 for Alice's validator.
      const etag = first.headers.get('etag')
      if (etag) {
        const conditional = await send(app.base, 'GET', daily, {
          token: bob.token,
          headers: { 'if-none-match': etag },
        })
        expect(conditional.status).toBe(404)
      }
      const contentId = (first.body as { id: string }).id
      expect((await send(app.base, 'GET', `/api/content/${contentId}`, { token: alice.token })).status).toBe(
        200,
      )
      expect((await send(app.base, 'GET', `/api/content/${contentId}`, { token: bob.token })).status).toBe(
        404,
      )
      expect((await send(app.base, 'GET', daily)).status).toBe(401)

      for (let i = 0; i < 3; i++) {
        const a = await send(app.base, 'GET', '/api/users/me', { token: alice.token })
        const b = await send(app.base, 'GET', '/api/users/me', { token: bob.token })
        expect((a.body as { id: string }).id).toBe(alice.id)
        expect((b.body as { id: string }).id).toBe(bob.id)
      }
      const bobsList = await send(app.base, 'GET', '/api/content', { token: bob.token })
      expect(bobsList.status).toBe(200)
      expect(JSON.stringify(bobsList.body)).not.toContain(contentId)
    })
  })

  describe('rate-limit keys with trust proxy (the control for client-ip.test.ts)', () => {
    const logout = (forwardedFor: string) =>
      send(app.base, 'POST', '/api/auth/logout', {
        body: { refreshToken: 'nobody.nothing.nowhere' },
        headers: { 'x-forwarded-for': forwardedFor },
      })

    it('keys each forwarded client by its own address, and IPv6 clients by /56', async () => {
      for (let i = 0; i < 25; i++) expect((await logout(`203.0.113.${i}`)).status).toBe(204)
      // One address still gets exactly its own 20 a minute.
      const own: number[] = []
      for (let i = 0; i < 22; i++) own.push((await logout('198.51.100.9')).status)
      expect(own.filter((s) => s === 429).length).toBe(2)
      // Rotating addresses inside one /56 does not escape the limit.
      const v6: number[] = []
      for (let i = 0; i < 23; i++)
        v6.push((await logout(`2001:db8:0:ab${i.toString(16).padStart(2, '0')}::${i + 1}`)).status)
      expect(v6.filter((s) => s === 429).length).toBe(3)
    })
  })

  describe('logs', () => {
    it('never carry a password or a refresh token from a request body', async () => {
      const password = 'Sup3r-Secret-Passw0rd!'
      const email = `logs-${Date.now()}@hostile.test`
      const registered = await send(app.base, 'POST', '/api/auth/register', {
        body: { email, password, name: 'Logs' },
      })
      expect(registered.status).toBe(201)
      const refreshToken = (registered.body as { refreshToken: string }).refreshToken
      await send(app.base, 'POST', '/api/auth/login', { body: { email, password: `${password}-wrong` } })
      await send(app.base, 'POST', '/api/auth/login', { body: { email, password } })
      await send(app.base, 'POST', '/api/auth/refresh', { body: { refreshToken } })
      const raw = app.rawLogs()
      expect(raw.length).toBeGreaterThan(0)
      expect(raw).toContain('/api/auth/login')
      expect(raw).not.toContain(password)
      expect(raw).not.toContain(refreshToken.split('.')[2])
    })

    // FINDINGS.md #1 (fixed in corp-astro 8dea6a2/c6de71e): request logs used to carry these headers.
    it('never carry a bearer token from the Authorization header (FINDINGS #1)', async () => {
      await send(app.base, 'GET', '/api/users/me?token-check', { token: alice.token })
      await waitForLog(app, '/api/users/me?token-check')
      expect(app.rawLogs()).toContain('/api/users/me?token-check')
      expect(app.rawLogs()).not.toContain(alice.token.split('.')[2])
    })

    it('never carry a cookie (FINDINGS #1)', async () => {
      const cookie = `session=cookie-secret-${Date.now()}`
      await send(app.base, 'GET', '/api/users/me?cookie-check', { token: alice.token, headers: { cookie } })
      await waitForLog(app, '/api/users/me?cookie-check')
      expect(app.rawLogs()).toContain('/api/users/me?cookie-check')
      expect(app.rawLogs()).not.toContain(cookie)
    })
  })
})

async function waitForLog(app: HostileApp, text: string): Promise<void> {
  for (let i = 0; i < 100 && !app.rawLogs().includes(text); i++) await new Promise((r) => setTimeout(r, 20))
}
