export { type BackoffOptions, backoffDelay } from "./backoff.js";
export { CRON_QUEUE, type CronHandler, CronService, parseCron } from "./cron-service.js";
export {
  type EnqueueOptions,
  type HandleOptions,
  type JobInfo,
  type JobsOptions,
  JobsService,
  type JobsStats,
  jobInfo,
} from "./jobs-service.js";
export { JOB_STATES, JOBS_TABLE, type JobState } from "./jobs-table.js";
export type { JobContext, JobHandler } from "./queue-worker.js";
