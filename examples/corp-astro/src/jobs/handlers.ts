import { type AnalyticsEvent, insertEvents } from '../analytics/repository.js'
import { generateDaily } from '../content/daily.js'
import { generateContent } from '../content/generator.js'
import { deleteExpiredContent, profilesWithoutDaily } from '../content/repository.js'
import type { AppContext } from '../context.js'
import { today } from '../http/schemas.js'
import type { ReportReady } from '../reports/notifier.js'

/** Profiles per page of the daily content pre-generation. */
const PREGENERATE_PAGE = 100

export interface JobData {
  'monthly-report': { userId: string; reportId: string }
  notification: { userId: string; kind: string; payload: Record<string, unknown> }
  'analytics-batch': { events: AnalyticsEvent[] }
  'content-cleanup': Record<string, never>
  'content-pregenerate': Record<string, never>
}

export type JobName = keyof JobData

export type JobHandlers = {
  [Name in JobName]: (data: JobData[Name], signal: AbortSignal) => Promise<unknown>
}

/** What each background job does. Every handler is idempotent: jobs run at least once. */
export function jobHandlers(
  ctx: Pick<
    AppContext,
    | 'reports'
    | 'profiles'
    | 'templates'
    | 'astro'
    | 'shards'
    | 'jobs'
    | 'config'
    | 'logger'
    | 'content'
    | 'cache'
    | 'health'
  >,
): JobHandlers {
  return {
    // Returns ReportReady once the report is stored: the report notifier sends the
    // notification from the job's `completed` event (src/reports/notifier.ts).
    async 'monthly-report'({
      userId,
      reportId,
    }): Promise<ReportReady | { skipped: true } | { failed: true }> {
      const report = await ctx.reports.get(userId, reportId)
      if (!report) return { skipped: true }
      // Stored by an earlier attempt whose worker died before acknowledging: still ready, still notified.
      if (report.status === 'completed')
        return { kind: 'report-ready', userId, reportId, month: report.month }
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
      return { kind: 'report-ready', userId, reportId, month: report.month }
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
      // Each shard on its own: a shard that is down must not hold back the others' events.
      const entries = [...byShard.values()]
      const results = await Promise.allSettled(entries.map((entry) => insertEvents(entry.db, entry.events)))
      const failed = entries.filter((_, index) => results[index]!.status === 'rejected')
      const firstError = results.find((result) => result.status === 'rejected')?.reason as unknown
      // Nothing went in: fail the job and let its retry budget (longer than an outage) run.
      if (failed.length === entries.length && failed.length > 0) throw firstError
      let requeued = 0
      for (const entry of failed) {
        // Only the failed shard's part goes back, as a job of its own with a fresh retry
        // budget. The id is derived from the events, so a re-run of this job (a worker
        // died after this point) re-queues nothing twice; inserts are idempotent anyway.
        await ctx.jobs.add(
          'analytics-batch',
          { events: entry.events },
          { priority: 'LOW', jobId: `analytics:${entry.db.name}:${entry.events[0]!.id}` },
        )
        requeued += entry.events.length
        ctx.logger.warn(
          { shard: entry.db.name, events: entry.events.length, err: firstError },
          'analytics events re-queued: their shard failed',
        )
      }
      return { inserted: events.length - requeued, requeued }
    },

    // Makes today's daily content for every profile that has none yet, a page at a time,
    // and stops while the service is not healthy: what is left is made by the next slot
    // or by the profile's first read. Idempotent (one row per profile and day).
    async 'content-pregenerate'(_data, signal) {
      const date = today()
      let deferred = false
      const made = await ctx.shards.forEachShard(async (db) => {
        let count = 0
        let after = '00000000-0000-0000-0000-000000000000'
        for (;;) {
          if (signal.aborted || ctx.health.status() !== 'healthy') {
            deferred = true
            return count
          }
          const page = await profilesWithoutDaily(db, date, after, PREGENERATE_PAGE)
          for (const { ownerId, profile } of page) {
            await generateDaily(ctx, ownerId, profile, date)
            count++
          }
          if (page.length < PREGENERATE_PAGE) return count
          after = page.at(-1)!.profile.id
        }
      })
      const generated = made.reduce((sum, n) => sum + n, 0)
      if (generated > 0 || deferred)
        ctx.logger.info({ date, generated, deferred }, 'daily content pre-generated')
      return { date, generated, deferred }
    },

    async 'content-cleanup'() {
      const deleted = await ctx.shards.forEachShard((db) => deleteExpiredContent(db))
      const total = deleted.reduce((sum, n) => sum + n, 0)
      if (total > 0) ctx.logger.info({ deleted: total }, 'expired content cleaned')
      return { deleted: total }
    },
  }
}
