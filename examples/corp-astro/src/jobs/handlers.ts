import { type AnalyticsEvent, insertEvents } from '../analytics/repository.js'
import { generateContent } from '../content/generator.js'
import { deleteExpiredContent } from '../content/repository.js'
import type { AppContext } from '../context.js'

export interface JobData {
  'monthly-report': { userId: string; reportId: string }
  notification: { userId: string; kind: string; payload: Record<string, unknown> }
  'analytics-batch': { events: AnalyticsEvent[] }
  'content-cleanup': Record<string, never>
}

export type JobName = keyof JobData

export type JobHandlers = {
  [Name in JobName]: (data: JobData[Name], signal: AbortSignal) => Promise<unknown>
}

/** What each background job does. Every handler is idempotent: jobs run at least once. */
export function jobHandlers(
  ctx: Pick<
    AppContext,
    'reports' | 'profiles' | 'templates' | 'astro' | 'shards' | 'jobs' | 'config' | 'logger'
  >,
): JobHandlers {
  return {
    async 'monthly-report'({ userId, reportId }) {
      const report = await ctx.reports.get(userId, reportId)
      if (!report || report.status === 'completed') return { skipped: true }
      await ctx.reports.setStatus(userId, reportId, 'running')
      const profile = await ctx.profiles.get(userId, report.profileId, { fresh: true })
      if (!profile) {
        await ctx.reports.setStatus(userId, reportId, 'failed', { error: 'The business profile was deleted' })
        return { failed: true }
      }
      const generated = await generateContent(
        ctx.templates,
        ctx.astro.forecast,
        profile,
        'monthly',
        `${report.month}-01`,
      )
      await ctx.reports.setStatus(userId, reportId, 'completed', {
        result: { profile: { id: profile.id, name: profile.name }, month: report.month, ...generated },
      })
      await ctx.jobs.add(
        'notification',
        { userId, kind: 'report-ready', payload: { reportId, month: report.month } },
        { priority: 'MEDIUM', delay: ctx.config.jobs.notificationDelayMs, jobId: `notify:${reportId}` },
      )
      return { reportId }
    },

    async notification({ userId, kind, payload }) {
      await ctx.reports.notify(userId, kind, payload)
    },

    async 'analytics-batch'({ events }) {
      const byShard = new Map<
        string,
        { db: ReturnType<AppContext['shards']['forUser']>; events: AnalyticsEvent[] }
      >()
      for (const event of events) {
        const db = ctx.shards.forUser(event.userId)
        const entry = byShard.get(db.name) ?? { db, events: [] }
        entry.events.push(event)
        byShard.set(db.name, entry)
      }
      await Promise.all([...byShard.values()].map((entry) => insertEvents(entry.db, entry.events)))
      return { inserted: events.length }
    },

    async 'content-cleanup'() {
      const deleted = await ctx.shards.forEachShard((db) => deleteExpiredContent(db))
      const total = deleted.reduce((sum, n) => sum + n, 0)
      if (total > 0) ctx.logger.info({ deleted: total }, 'expired content cleaned')
      return { deleted: total }
    },
  }
}
