import { z } from 'zod'

/** `?page=&limit=`: page from 1, limit 1..100 (default 20). */
export const paginationSchema = z.object({
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  limit: z.coerce.number().int().min(1).max(100).default(20),
})

export const uuidSchema = z.uuid({ error: 'expected a UUID' })

/** The paginated envelope every list answers with. */
export function page<T>(items: T[], total: number, pageNumber: number, limit: number) {
  return { items, page: pageNumber, limit, total, totalPages: Math.ceil(total / limit) }
}

/** A real calendar date `YYYY-MM-DD` (rejects 2024-02-30). */
export const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD')
  .refine((value) => {
    const date = new Date(`${value}T00:00:00Z`)
    return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value
  }, 'expected a real calendar date')

/** Today in UTC as `YYYY-MM-DD`. */
export const today = () => new Date().toISOString().slice(0, 10)
