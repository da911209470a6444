import { Router } from 'express'
import { z } from 'zod'
import { requireUser, userOf } from '../auth/authenticate.js'
import type { AppContext } from '../context.js'
import { notFound } from '../http/problem.js'
import { page, paginationSchema, today, uuidSchema } from '../http/schemas.js'
import { validate } from '../http/validate.js'
import { profilesTag } from '../profiles/routes.js'
import { contentListTag, generateDaily } from './daily.js'
import type { ContentItem } from './repository.js'

export const dailySchema = z.object({ profileId: uuidSchema })

/** A cached list may show an item the cleanup job deleted for at most this long. */
const LIST_TTL_MS = 60_000

/** `/api/content`: the daily horoscope (cached per user and day), by id, paginated. */
export function contentRouter(ctx: AppContext): Router {
  const router = Router()
  router.use(requireUser, ctx.limits.content)

  // Whole responses are cached per user (ETag, 304); content changes at most daily.
  const dailyResponses = ctx.cache.responses(300_000, (userId) => [profilesTag(userId)])
  const itemResponses = ctx.cache.responses(3_600_000)

  router.get('/daily', ctx.business.countView('daily'), dailyResponses, async (req, res) => {
    const { sub } = userOf(req)
    const { profileId } = validate(dailySchema, req.query, 'query')
    const date = today()
    const item = await ctx.cache.getOrSet<ContentItem | null>(
      `content:daily:${sub}:${profileId}:${date}`,
      async () => {
        const existing = await ctx.content.findDaily(sub, profileId, date)
        if (existing) return existing
        const profile = await ctx.profiles.get(sub, profileId, { fresh: true })
        if (!profile) return null
        // Made here only when the pre-generation job has not reached this profile yet.
        return generateDaily(ctx, sub, profile, date)
      },
      // Generation calls the astro service: one process generates, the others wait for it.
      { tags: [profilesTag(sub)], lock: true },
    )
    if (!item) throw notFound('Business profile')
    res.json(item)
  })

  router.get('/', async (req, res) => {
    const { sub } = userOf(req)
    const query = validate(paginationSchema, req.query, 'query')
    const body = await ctx.cache.getOrSet(
      `content-list:${sub}:${query.page}:${query.limit}`,
      async () => {
        const { items, total } = await ctx.content.list(sub, query.page, query.limit)
        return page(items, total, query.page, query.limit)
      },
      { tags: [contentListTag(sub)], ttl: LIST_TTL_MS },
    )
    res.json(body)
  })

  router.get('/:id', ctx.business.countView('item'), itemResponses, async (req, res) => {
    const { sub } = userOf(req)
    const parsed = uuidSchema.safeParse(req.params.id)
    if (!parsed.success) throw notFound('Content')
    const item = await ctx.cache.getOrSet<ContentItem | null>(`content:item:${sub}:${parsed.data}`, () =>
      ctx.content.get(sub, parsed.data),
    )
    if (!item) throw notFound('Content')
    res.json(item)
  })

  return router
}
