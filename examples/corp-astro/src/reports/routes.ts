import { Router } from 'express'
import { z } from 'zod'
import { requireUser, userOf } from '../auth/authenticate.js'
import type { Tier } from '../auth/tokens.js'
import type { AppContext } from '../context.js'
import { HttpProblem, notFound } from '../http/problem.js'
import { uuidSchema } from '../http/schemas.js'
import { validate } from '../http/validate.js'
import type { JobPriority } from '../platform/jobs.js'

export const monthlySchema = z
  .object({
    profileId: uuidSchema,
    month: z
      .string()
      .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'expected a month as YYYY-MM')
      .optional(),
  })
  .strict()

/** Premium reports are claimed first; free ones wait behind everything else. */
export const REPORT_PRIORITY: Record<Tier, JobPriority> = { premium: 'HIGH', basic: 'MEDIUM', free: 'LOW' }

/** `/api/reports`: monthly reports are jobs, prioritised by tier; the report row tracks their status. */
export function reportsRouter(ctx: AppContext): Router {
  const router = Router()
  router.use(requireUser, ctx.limits.api)

  router.post('/monthly', async (req, res) => {
    const { sub, tier } = userOf(req)
    const body = validate(monthlySchema, req.body)
    const profile = await ctx.profiles.get(sub, body.profileId, { fresh: true })
    if (!profile) throw notFound('Business profile')
    const priority = REPORT_PRIORITY[tier]
    const report = await ctx.reports.create(sub, {
      profileId: profile.id,
      month: body.month ?? new Date().toISOString().slice(0, 7),
      priority,
    })
    try {
      await ctx.jobs.add(
        'monthly-report',
        { userId: sub, reportId: report.id },
        { priority, jobId: report.id },
      )
    } catch (error) {
      // The queue's store (Redis) is unreachable: say so, and leave no report waiting forever.
      req.log.warn({ err: error }, 'monthly report could not be queued')
      await ctx.reports.setStatus(sub, report.id, 'failed', { error: 'The report could not be queued' })
      throw new HttpProblem(503, 'Service Unavailable', 'Reports cannot be queued right now; retry shortly', {
        headers: { 'retry-after': '5' },
      })
    }
    ctx.business.reportRequests.inc({ tier })
    res.status(202).location(`${req.baseUrl}/${report.id}`).json(report)
  })

  router.get('/:id', async (req, res) => {
    const { sub } = userOf(req)
    const parsed = uuidSchema.safeParse(req.params.id)
    if (!parsed.success) throw notFound('Report')
    const report = await ctx.reports.get(sub, parsed.data)
    if (!report) throw notFound('Report')
    res.json(report)
  })

  return router
}
