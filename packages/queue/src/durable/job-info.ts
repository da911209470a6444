// A job as getJob() returns it, decoded from what its store keeps.
import type { JobInfo, JobState } from '../store/job-store.js'
import { decodePayload } from '../store/payload.js'

/** The state letters both stores report in `fields.st`. */
const STATES: Record<string, JobState> = {
  w: 'waiting',
  d: 'delayed',
  a: 'active',
  c: 'completed',
  f: 'failed',
}

/** Decodes a store's answer to `getJob(id)` (see JobStore). */
export function toJobInfo<Data>(
  id: string,
  found: { payload: string; fields: Record<string, string> },
): JobInfo<Data> {
  const job = decodePayload(found.payload)
  const info: JobInfo<Data> = {
    id,
    name: job.name,
    data: job.data as Data,
    state: STATES[found.fields.st ?? ''] ?? 'waiting',
    priority: job.priority,
    attempts: Number(found.fields.a ?? 0),
    maxAttempts: job.maxAttempts,
    stalls: Number(found.fields.s ?? 0),
  }
  if (found.fields.e) info.error = JSON.parse(found.fields.e) as { message: string; code?: string }
  if (found.fields.r) info.result = JSON.parse(found.fields.r)
  if (found.fields.pg) info.progress = JSON.parse(found.fields.pg)
  return info
}
