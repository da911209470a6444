import { Router } from 'express'
import { z } from 'zod'
import { requireUser, userOf } from '../auth/authenticate.js'
import type { AppContext } from '../context.js'
import { badRequest, notFound } from '../http/problem.js'
import { isoDate, page, paginationSchema, today, uuidSchema } from '../http/schemas.js'
import { validate } from '../http/validate.js'
import type { BusinessProfile } from './repository.js'

const fields = {
  name: z.string().trim().min(1).max(120),
  industry: z.string().trim().min(1).max(80),
  foundingDate: isoDate.refine((value) => value <= today(), 'expected a date that is not in the future'),
  location: z.string().trim().min(1).max(120),
}
export const createSchema = z.object(fields).strict()
export const patchSchema = z.object(fields).partial().strict()

/**
 * The cache tag of everything cached about one owner's profiles (each profile, the
 * lists, the daily content made from them): a deletion invalidates it.
 */
export const profilesTag = (userId: string) => `profiles:${userId}`

/**
 * The cache tag of one owner's profile lists: creating or changing a profile invalidates
 * only these. The changed profile itself is written through; its daily content is a row
 * already stored for the day, which an edit does not change.
 */
export const profileListsTag = (userId: string) => `profile-lists:${userId}`

/** `/api/business-profiles`: CRUD, owner-only (another owner's profile is a 404), paginated. */
export function profilesRouter(ctx: AppContext): Router {
  const router = Router()
  router.use(requireUser, ctx.limits.api)

  /** A profile just stored: cached as it is now, and the owner's lists (which it changes) dropped. */
  const writeThrough = (sub: string, profile: BusinessProfile) =>
    Promise.all([
      ctx.cache.set(profileKey(sub, profile.id), profile, { tags: [profilesTag(sub)] }),
      ctx.cache.invalidateTags([profileListsTag(sub)]),
    ])

  const idOf = (value: unknown) => {
    const parsed = uuidSchema.safeParse(value)
    // A malformed id cannot name anyone's profile: 404, like any other missing one.
    if (!parsed.success) throw notFound('Business profile')
    return parsed.data
  }

  router.get('/', async (req, res) => {
    const { sub } = userOf(req)
    const query = validate(paginationSchema, req.query, 'query')
    const body = await ctx.cache.getOrSet(
      `profiles:${sub}:list:${query.page}:${query.limit}`,
      async () => {
        const { items, total } = await ctx.profiles.list(sub, query.page, query.limit)
        return page(items, total, query.page, query.limit)
      },
      { tags: [profilesTag(sub), profileListsTag(sub)] },
    )
    res.json(body)
  })

  router.post('/', async (req, res) => {
    const { sub } = userOf(req)
    const body = validate(createSchema, req.body)
    const profile = await ctx.profiles.create(sub, body)
    // Written through, like an edit: a client reads what it just created.
    await writeThrough(sub, profile)
    res.status(201).location(`${req.baseUrl}/${profile.id}`).json(profile)
  })

  router.get('/:id', async (req, res) => {
    const { sub } = userOf(req)
    const id = idOf(req.params.id)
    const profile = await ctx.cache.getOrSet<BusinessProfile | null>(
      profileKey(sub, id),
      () => ctx.profiles.get(sub, id),
      { tags: [profilesTag(sub)] },
    )
    if (!profile) throw notFound('Business profile')
    res.json(profile)
  })

  router.patch('/:id', async (req, res) => {
    const { sub } = userOf(req)
    const id = idOf(req.params.id)
    const body = validate(patchSchema, req.body)
    if (Object.keys(body).length === 0) {
      throw badRequest('Nothing to change', [{ field: 'body', message: 'expected at least one field' }])
    }
    const profile = await ctx.profiles.update(sub, id, body)
    if (!profile) throw notFound('Business profile')
    await writeThrough(sub, profile)
    res.json(profile)
  })

  router.delete('/:id', async (req, res) => {
    const { sub } = userOf(req)
    const id = idOf(req.params.id)
    if (!(await ctx.profiles.remove(sub, id))) throw notFound('Business profile')
    await ctx.cache.invalidateTags([profilesTag(sub)])
    res.status(204).end()
  })

  return router
}

const profileKey = (userId: string, id: string) => `profiles:${userId}:${id}`
