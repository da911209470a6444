// A job as getJob() returns it, decoded from what its store keeps.
import type { JobInfo, JobPayload, JobState } from '../store/job-store.js'

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
  const payload = JSON.parse(found.payload) as JobPayload
  const info: JobInfo<Data> = {
    id,
    name: payload.n,
    data: payload.d as Data,
    state: STATES[found.fields.st ?? ''] ?? 'waiting',
    priority: payload.p,
    attempts: Number(found.fields.a ?? 0),
    maxAttempts: payload.m,
    stalls: Number(found.fields.s ?? 0),
  }
  if (found.fields.e) info.error = JSON.parse(found.fields.e) as { message: string; code?: string }
  if (found.fields.r) info.result = JSON.parse(found.fields.r)
  if (found.fields.pg) info.progress = JSON.parse(found.fields.pg)
  return info
}
