export { backoffDelay, type ResolvedRetry, type RetryOptions } from './backoff.js'
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
} from './errors.js'
export type { EvictionPolicyMode } from './eviction-policy.js'
export type { JobInfo, JobState, RetentionRule } from './job.js'
export { MAX_PRIORITY, Priority, type PriorityInput, type PriorityLevel } from './priority.js'
export { createQueue } from './queue.js'
export { createQueueEvents } from './queue-events.js'
export type {
  JobError,
  QueueEventMap,
  QueueEventsOptions,
  QueueEventsSubscriber,
} from './queue-events-types.js'
export type { HealthStatus, QueueOptions, SheddingOptions } from './queue-options.js'
export type {
  AddJobOptions,
  BulkJob,
  GetJobsOptions,
  JobCounts,
  JobListState,
  Queue,
  QueueAdmin,
  QueueEvents,
  QueueStats,
  RetryJobsOptions,
} from './queue-types.js'
export type { JobScheduler, JobTemplate, RepeatOptions } from './repeat.js'
export { createTaskQueue } from './task-queue.js'
export type { TaskQueueOptions } from './task-queue-options.js'
export type {
  AddTaskOptions,
  TaskContext,
  TaskQueue,
  TaskQueueEvents,
  TaskQueueStats,
} from './task-queue-types.js'
export { createWorker } from './worker.js'
export type { WorkerOptions } from './worker-options.js'
export type { Job, JobHandler, Worker, WorkerStats } from './worker-types.js'
