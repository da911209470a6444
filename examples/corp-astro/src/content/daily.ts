import type { AppContext } from '../context.js'
import type { BusinessProfile } from '../profiles/repository.js'
import { generateContent } from './generator.js'
import type { ContentItem } from './repository.js'

/** Daily content is kept a week, then the cleanup job deletes it. */
const DAILY_TTL_DAYS = 7

/** The cache tag of a user's content lists: new content invalidates them. */
export const contentListTag = (userId: string) => `content-lists:${userId}`

/**
 * Generates and stores one profile's daily content for `date`, once: the request path
 * (the first read of the day, when nothing made it earlier) and the pre-generation job
 * both come here, and a concurrent second insert returns the first one's row.
 */
export async function generateDaily(
  ctx: Pick<AppContext, 'templates' | 'astro' | 'content' | 'cache'>,
  ownerId: string,
  profile: BusinessProfile,
  date: string,
): Promise<ContentItem> {
  const generated = await generateContent(ctx.templates, ctx.astro.forecast, profile, 'daily', date)
  const inserted = await ctx.content.insertOnce(ownerId, {
    ...generated,
    profileId: profile.id,
    kind: 'daily',
    date,
    ttlDays: DAILY_TTL_DAYS,
  })
  await ctx.cache.invalidateTags([contentListTag(ownerId)])
  return inserted
}
