// The Redis store's operator verbs: one script call each (see scripts/admin.ts).
import type { RemoveOutcome, StateLetter, StoreAdmin, StoredJob } from '../store/job-store.js'
import { cleanScript, listScript, removeScript, retryScript } from './scripts/admin.js'

type Run = <T>(script: typeof listScript, args: (string | number)[]) => Promise<T>

export function createRedisAdmin(run: Run, jobPrefix: string, agingMs: number): StoreAdmin {
  return {
    async list(state: StateLetter, start, end, asc) {
      const flat = await run<(string | string[])[]>(listScript, [
        jobPrefix,
        state,
        start,
        end,
        asc ? '1' : '0',
      ])
      const jobs: StoredJob[] = []
      for (let i = 0; i < flat.length; i += 2) {
        const pairs = flat[i + 1] as string[]
        const fields: Record<string, string> = {}
        for (let k = 0; k < pairs.length; k += 2) fields[pairs[k]!] = pairs[k + 1]!
        if (fields.p === undefined) continue
        // As in getJob: the hash counts attempts that ended without settling the job.
        const ended = Number(fields.a ?? 0)
        fields.a = String(state === 'a' || state === 'c' || state === 'f' ? ended + 1 : ended)
        fields.st = state
        jobs.push({ id: String(flat[i]), payload: fields.p, fields })
      }
      return jobs
    },
    async retryFailed(limit) {
      const [moved] = await run<[number, number]>(retryScript, [jobPrefix, agingMs, limit, ''])
      return moved
    },
    async retryOne(id) {
      const [moved] = await run<[number, number]>(retryScript, [jobPrefix, agingMs, 1, id])
      return moved === 1
    },
    async remove(id): Promise<RemoveOutcome> {
      const found = await run<number>(removeScript, [jobPrefix, id])
      return found === 1 ? 'removed' : found === 0 ? 'missing' : 'active'
    },
    clean: (state, ageMs, limit) => run<string[]>(cleanScript, [jobPrefix, state, ageMs, limit]),
  }
}
