import type { AppContext } from '../context.js'
import { publicUser, type User } from './repository.js'

/** The cache key of a user's public record; dropped whenever the user changes. */
export const userKey = (userId: string) => `user:${userId}`

/**
 * A user's public record (no password hash) through the app cache, or null when there is
 * no such user. `/users/me` and token refresh share it: a refresh needs the tier and role
 * for the new access token, and reading them from the cache saves it one of its three
 * database transactions.
 */
export function cachedUser(ctx: Pick<AppContext, 'cache' | 'users'>, userId: string): Promise<User | null> {
  return ctx.cache.getOrSet<User | null>(userKey(userId), async () => {
    const row = await ctx.users.findById(userId)
    return row ? publicUser(row) : null
  })
}
