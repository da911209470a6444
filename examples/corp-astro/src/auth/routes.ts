import { Router } from 'express'
import { z } from 'zod'
import type { AppContext } from '../context.js'
import { conflict, HttpProblem, unauthorized } from '../http/problem.js'
import { validate } from '../http/validate.js'
import { cachedUser } from '../users/cached-user.js'
import { publicUser, type User } from '../users/repository.js'
import { dummyHash, hashPassword, verifyPassword } from './passwords.js'

const email = z
  .email({ error: 'expected an email address' })
  .max(254)
  .transform((value) => value.toLowerCase())
const password = z
  .string()
  .min(8, 'expected at least 8 characters')
  .max(128, 'expected at most 128 characters')

// Strict like every other route: a field the API does not know (a `role` on register) is
// a client bug or a probe, and answers 400 instead of being silently dropped.
export const registerSchema = z.object({ email, password, name: z.string().trim().min(1).max(100) }).strict()
export const loginSchema = z.object({ email, password: z.string().min(1).max(128) }).strict()
export const refreshSchema = z.object({ refreshToken: z.string().min(1).max(300) }).strict()

/** `/api/auth`: register, login, refresh (rotating), logout. */
export function authRouter(ctx: AppContext): Router {
  const router = Router()

  const session = async (user: User, existing?: { token: string; familyId: string }) => {
    const refresh = existing ?? (await ctx.refreshTokens.issue(user.id))
    const accessToken = await ctx.tokens.signAccess({
      sub: user.id,
      tier: user.tier,
      role: user.role,
      sid: refresh.familyId,
    })
    return {
      user,
      accessToken,
      refreshToken: refresh.token,
      tokenType: 'Bearer',
      expiresIn: ctx.tokens.accessTtlSeconds,
    }
  }

  router.post('/register', ctx.limits.auth, async (req, res) => {
    const body = validate(registerSchema, req.body)
    const user = await ctx.users.create({
      email: body.email,
      passwordHash: await hashPassword(body.password),
      name: body.name,
      tier: 'free',
      role: ctx.config.auth.adminEmails.has(body.email) ? 'admin' : 'user',
    })
    if (!user) throw conflict('An account with this email already exists')
    ctx.business.registrations.inc()
    res.status(201).json(await session(publicUser(user)))
  })

  router.post('/login', ctx.limits.auth, async (req, res) => {
    const body = validate(loginSchema, req.body)
    const ip = req.ip ?? 'unknown'
    const blocked = await ctx.limits.login.blocked(body.email, ip)
    if (blocked) throw tooManyFailures(blocked.retryAfterMs)
    const user = await ctx.users.findByEmail(body.email)
    // Verify against a dummy hash for unknown emails: same cost, so timing reveals nothing.
    const ok = await verifyPassword(body.password, user?.passwordHash ?? (await dummyHash()))
    if (!user || !ok) {
      const after = await ctx.limits.login.fail(body.email, ip)
      if (after) throw tooManyFailures(after.retryAfterMs)
      throw unauthorized('Email or password is wrong')
    }
    res.json(await session(publicUser(user)))
  })

  router.post('/refresh', ctx.limits.auth, async (req, res) => {
    const body = validate(refreshSchema, req.body)
    const rotated = await ctx.refreshTokens.rotate(body.refreshToken)
    if (!rotated.ok) throw unauthorized(`The refresh token is ${rotated.reason}`)
    const user = await cachedUser(ctx, rotated.userId)
    if (!user) throw unauthorized('The account no longer exists')
    res.json(await session(user, { token: rotated.token, familyId: rotated.familyId }))
  })

  router.post('/logout', ctx.limits.auth, async (req, res) => {
    const body = validate(refreshSchema, req.body)
    // Unknown tokens answer 204 too: logout is idempotent and reveals nothing.
    await ctx.refreshTokens.revoke(body.refreshToken)
    res.status(204).end()
  })

  return router
}

function tooManyFailures(retryAfterMs: number): HttpProblem {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000))
  return new HttpProblem(429, 'Too Many Requests', 'Too many failed login attempts; try again later', {
    headers: { 'retry-after': String(seconds) },
  })
}
