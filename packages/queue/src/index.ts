export { backoffDelay, type ResolvedRetry, type RetryOptions } from './durable/backoff.js'
export type { EvictionPolicyMode } from './durable/eviction-policy.js'
export { createQueue } from './durable/queue.js'
export type { HealthStatus, QueueOptions, SheddingOptions } from './durable/queue-options.js'
export type {
  AddJobOptions,
  BulkJob,
  GetJobsOptions,
  JobCounts,
  JobListState,
  JobScheduler,
  JobTemplate,
  Queue,
  QueueAdmin,
  QueueEvents,
  QueueStats,
  RepeatOptions,
  RetryJobsOptions,
} from './durable/queue-types.js'
export { createWorker } from './durable/worker.js'
export type { WorkerOptions } from './durable/worker-options.js'
export type { Job, JobHandler, Worker, WorkerStats } from './durable/worker-types.js'
export { createQueueEvents } from './events/queue-events.js'
export type {
  JobError,
  QueueEventMap,
  QueueEventsOptions,
  QueueEventsSubscriber,
} from './events/types.js'
export {
  EvictionPolicyError,
  JobActiveError,
  JobFailedError,
  JobNotFoundError,
  LeaseLostError,
  queueErrors,
  TaskClearedError,
  UnknownHandlerError,
  UnrecoverableError,
} from './shared/errors.js'
export { MAX_PRIORITY, Priority, type PriorityInput, type PriorityLevel } from './shared/priority.js'
export type { JobInfo, JobState, RetentionRule } from './store/job-store.js'
export type { TaskQueueOptions } from './task/options.js'
export { createTaskQueue } from './task/task-queue.js'
export type {
  AddTaskOptions,
  TaskContext,
  TaskQueue,
  TaskQueueEvents,
  TaskQueueStats,
} from './task/types.js'
