import { clusterWorkerPids } from '../../../packages/testing/src/index.js'
import { fault } from '../fault.js'
import { request } from '../load.js'
import { reportCompletes } from '../probes.js'
import type { Stack } from '../stack.js'

export async function workerKill(stack: Stack): Promise<void> {
  const primary = stack.app.process.pid!
  const before = clusterWorkerPids(primary)
  if (before.length < 2) throw new Error(`expected 2 workers, found ${before.length}`)
  let killedAt = 0
  await fault(stack, {
    name: 'worker SIGKILLed mid-job',
    // A job whose worker died is run again once its lease (10 s) expires; a new worker boots meanwhile.
    recoveryBoundMs: 30_000,
    faultMs: 1_000,
    async inject() {
      // Queue a burst of reports so jobs are running when the worker dies.
      await Promise.all(
        stack.users.slice(0, 6).map(async (user) => {
          if (user.profiles.length === 0) return
          const res = await request(stack.base, 'POST', '/api/reports/monthly', {
            token: user.token,
            ip: user.ip,
            body: { profileId: user.profiles[0], month: '2026-08' },
          })
          if (res.status === 202) user.reports.push(res.body.id)
        }),
      )
      killedAt = Date.now()
      process.kill(before[0]!, 'SIGKILL')
    },
    async heal() {},
    async probe() {
      const now = clusterWorkerPids(primary)
      if (now.length < 2 || now.includes(before[0]!)) return false
      return reportCompletes(stack)
    },
    // Requests in flight on the killed worker lose their connection: nobody can answer them.
    // So do requests sent in the next moment on a pooled keep-alive connection to it, which
    // the client has not yet seen close (a retryable reset, not a server answer).
    allow: (sample) =>
      sample.verdict === 'reset' && sample.at <= killedAt + 1_000 && sample.at + sample.ms >= killedAt,
  })
}
