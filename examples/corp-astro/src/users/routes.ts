import { Router } from 'express'
import { z } from 'zod'
import { requireUser, userOf } from '../auth/authenticate.js'
import type { AppContext } from '../context.js'
import { badRequest, notFound } from '../http/problem.js'
import { validate } from '../http/validate.js'
import { cachedUser, userKey } from './cached-user.js'
import { publicUser } from './repository.js'

export const patchSchema = z
  .object({
    name: z.string().trim().min(1).max(100).optional(),
    // Stands in for a billing flow: the demo lets users pick their tier.
    tier: z.enum(['free', 'basic', 'premium']).optional(),
  })
  .strict()

/** `/api/users/me`: the caller's account (cached), and changes to it. */
export function usersRouter(ctx: AppContext): Router {
  const router = Router()
  router.use(requireUser, ctx.limits.api)

  router.get('/me', async (req, res) => {
    const { sub } = userOf(req)
    const user = await cachedUser(ctx, sub)
    if (!user) throw notFound('User')
    res.json(user)
  })

  router.patch('/me', async (req, res) => {
    const { sub } = userOf(req)
    const body = validate(patchSchema, req.body)
    if (body.name === undefined && body.tier === undefined)
      throw badRequest('Nothing to change', [{ field: 'body', message: 'expected name or tier' }])
    const user = await ctx.users.update(sub, body)
    if (!user) throw notFound('User')
    await ctx.cache.delete(userKey(sub))
    res.json(publicUser(user))
  })

  router.get('/me/notifications', async (req, res) => {
    res.json({ items: await ctx.reports.notifications(userOf(req).sub) })
  })

  return router
}
