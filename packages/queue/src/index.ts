export { backoffDelay, type ResolvedRetry, type RetryOptions } from './backoff.js'
export {
  EvictionPolicyError,
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
export type { HealthStatus, QueueOptions, SheddingOptions } from './queue-options.js'
export type { AddJobOptions, BulkJob, Queue, QueueEvents, QueueStats } from './queue-types.js'
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
