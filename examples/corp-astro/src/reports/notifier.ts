import type { RedisClient } from '@headroom/core'
import type { QueueEventsSubscriber } from '@headroom/queue'
import type { AppLogger } from '../logger.js'
import type { AppJobs } from '../platform/jobs.js'

/** What a monthly-report job returns once its report is stored: the notifier's cue. */
export interface ReportReady {
  kind: 'report-ready'
  userId: string
  reportId: string
  month: string
}

const isReportReady = (value: unknown): value is ReportReady =>
  typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'report-ready'

/**
 * Sends report-ready notifications from the queue's events: every app process subscribes
 * to `completed` and, for a monthly report, queues its `notification` job (delayed, with
 * the id `notify:<reportId>`, so however many processes see the event it is queued once).
 * The last event handled is kept in Redis, so a process that starts after a restart
 * resumes from there (within the stream's history) rather than miss the reports finished
 * while every process was down.
 */
export async function startReportNotifier(options: {
  jobs: AppJobs
  redis: RedisClient | undefined
  prefix: string
  delayMs: number
  logger: AppLogger
}): Promise<{ close(): Promise<void> }> {
  const { jobs, redis, logger } = options
  const cursorKey = `${options.prefix}:report-notifier:last`
  const saved = redis ? await redis.get(cursorKey).catch(() => null) : null
  const events: QueueEventsSubscriber = jobs.events(saved ? { lastEventId: saved } : {})
  let chain = Promise.resolve()
  let closed = false
  // Events of one stream entry share its id, and resuming from an id skips the whole entry:
  // the cursor saved is the last entry every event of which was handled (the one before the
  // entry in progress), so a restart re-handles at most one entry (notifications are idempotent).
  let current: string | undefined
  let handledThrough: string | undefined

  const notify = async (ready: ReportReady, eventId: string) => {
    // Retried until it is queued (Redis may be away for a while): the report was acknowledged to its owner.
    for (let attempt = 0; !closed; attempt++) {
      try {
        await jobs.add(
          'notification',
          {
            userId: ready.userId,
            kind: 'report-ready',
            payload: { reportId: ready.reportId, month: ready.month },
          },
          { priority: 'MEDIUM', delay: options.delayMs, jobId: `notify:${ready.reportId}` },
        )
        if (eventId !== current) {
          handledThrough = current
          current = eventId
        }
        if (handledThrough !== undefined) await redis?.set(cursorKey, handledThrough, 'EX', 7 * 86_400)
        return
      } catch (error) {
        logger.warn(
          { err: error, reportId: ready.reportId, attempt },
          'report-ready notification not queued; retrying',
        )
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 100 * 2 ** attempt)).unref())
      }
    }
  }

  events.on('completed', ({ returnvalue, eventId }) => {
    if (!isReportReady(returnvalue)) return
    // One at a time, in event order: the saved cursor only moves past handled events.
    chain = chain.then(() => notify(returnvalue, eventId))
  })
  await events.ready()
  return {
    async close() {
      closed = true
      await events.close()
      await chain
    },
  }
}
