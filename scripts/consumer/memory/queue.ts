// A memory-only user of @headroom/queue: the in-process task queue and the in-memory durable queue.
import { createQueue, createTaskQueue, createWorker, type Job } from '@headroom/queue'

async function main(): Promise<void> {
  const tasks = createTaskQueue({ concurrency: 2 })
  const doubled = await tasks.add(async () => 21 * 2, { priority: 'HIGH' })
  if (doubled !== 42) throw new Error(`task returned ${doubled}`)
  await tasks.onIdle()

  const jobs = createQueue({ name: 'consumer', names: ['greet'] })
  const seen: unknown[] = []
  const worker = createWorker(jobs, {
    greet: async (job: Job) => {
      seen.push(job.data)
    },
  })
  await jobs.add('greet', { name: 'leo' }, { priority: 'LOW' })
  const until = Date.now() + 5_000
  while (seen.length === 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10))
  if (seen.length !== 1) throw new Error(`expected 1 job run, got ${seen.length}`)
  await worker.close()
  await jobs.close()
  await tasks.close()
}

main().then(
  () => console.log('ok queue (memory)'),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
