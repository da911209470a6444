import { randomUUID } from 'node:crypto'
import { Router } from 'express'
import { z } from 'zod'
import { requireUser, userOf } from '../auth/authenticate.js'
import type { AppContext } from '../context.js'
import { forbidden, unavailable } from '../http/problem.js'
import { validate } from '../http/validate.js'
import { summarize } from './repository.js'

const eventSchema = z
  .object({
    type: z.string().regex(/^[a-z][a-z0-9_.:-]{0,63}$/, 'expected a lowercase event name (a-z, 0-9, _.:-)'),
    properties: z
      .record(z.string().max(64), z.union([z.string().max(256), z.number(), z.boolean(), z.null()]))
      .refine((value) => Object.keys(value).length <= 20, 'expected at most 20 properties')
      .default({}),
    occurredAt: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time' }).optional(),
  })
  .strict()
export const eventsSchema = z.object({ events: z.array(eventSchema).min(1).max(100) }).strict()
export const summarySchema = z.object({ days: z.coerce.number().int().min(1).max(90).default(7) })

/** `/api/analytics`: events are queued durably (202), then written to their shards by a job. */
export function analyticsRouter(ctx: AppContext): Router {
  const router = Router()
  router.use(requireUser, ctx.limits.api)

  router.post('/events', async (req, res) => {
    const { sub } = userOf(req)
    const { events } = validate(eventsSchema, req.body)
    const now = new Date().toISOString()
    // 202 means durable: answer only once the job queue holds the events (in Redis when
    // there is one), so they survive a Redis outage, a failover or this worker being
    // killed. If the queue cannot take them, say so and let the client retry.
    try {
      await ctx.analytics.enqueue(
        events.map((event) => ({
          id: randomUUID(),
          userId: sub,
          type: event.type,
          properties: event.properties,
          occurredAt: event.occurredAt ?? now,
        })),
      )
    } catch (error) {
      req.log?.warn({ err: error }, 'analytics events could not be queued')
      throw unavailable('The analytics events could not be queued; retry shortly')
    }
    res.status(202).json({ accepted: events.length })
  })

  router.get('/summary', async (req, res) => {
    if (userOf(req).role !== 'admin') throw forbidden('The analytics summary is for admins')
    const { days } = validate(summarySchema, req.query, 'query')
    const since = new Date(Date.now() - days * 86_400_000).toISOString()
    // Fan out to every shard and merge: each holds its own users' events.
    const perShard = await ctx.shards.forEachShard((db) => summarize(db, since))
    const merged = new Map<string, { type: string; events: number; users: number }>()
    for (const row of perShard.flat()) {
      const entry = merged.get(row.type) ?? { type: row.type, events: 0, users: 0 }
      entry.events += row.events
      entry.users += row.users
      merged.set(row.type, entry)
    }
    const types = [...merged.values()].sort((a, b) => b.events - a.events)
    res.json({
      since,
      days,
      totalEvents: types.reduce((sum, row) => sum + row.events, 0),
      shards: perShard.length,
      types,
    })
  })

  return router
}
