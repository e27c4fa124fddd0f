import type { Logger } from "pino";
import type { Database, Queryable } from "../db/index.js";
import { randomString, type SpanTracer } from "../util/index.js";
import type { BackoffOptions } from "./backoff.js";
import {
  cancelJobRow,
  countJobs,
  getJobRow,
  insertJob,
  type JobRow,
  listJobRows,
  queueBusy,
  retryJobRow,
  sweepJobs,
} from "./jobs-store.js";
import { ensureJobsTable, type JobState } from "./jobs-table.js";
import { type JobHandler, QueueWorker } from "./queue-worker.js";

/** How a job is enqueued. */
export interface EnqueueOptions {
  /** Run no earlier than this many milliseconds from now. */
  delay?: number;
  /** Run no earlier than this time (wins over `delay`). */
  runAt?: Date | number;
  /** A second enqueue with the same key on the same queue is a no-op that returns the first job's id. */
  idempotencyKey?: string;
  /** How many times the job may start before it is kept as dead (default 5). */
  maxAttempts?: number;
  /** Higher runs first among due jobs (default 0). */
  priority?: number;
  /**
   * The transaction to enqueue in: the job then exists if and only if that transaction commits (e.g. the
   * `tx` of `app.db.transaction` or of a record hook). Without it, an enqueue made inside a running
   * transaction joins it as well.
   */
  tx?: Queryable;
}

/** How a queue's jobs are run in this process. */
export interface HandleOptions {
  /** How many jobs of the queue run at once in this process (default 1). */
  concurrency?: number;
  /** Milliseconds an attempt may take before it counts as failed and its signal aborts (default 5 min). */
  timeout?: number;
  /** Retry spacing. */
  backoff?: BackoffOptions;
}

/** A job as the operations API shows it. */
export interface JobInfo {
  id: string;
  queue: string;
  payload: unknown;
  state: JobState;
  priority: number;
  attempts: number;
  maxAttempts: number;
  runAt: string;
  lastError: string;
  idempotencyKey: string | null;
  created: string;
  updated: string;
}

/** Queue depth, age and outcome counters for metrics. */
export interface JobsStats {
  queues: Record<string, { pending: number; running: number; dead: number; oldestPendingAgeMs: number }>;
  /** Outcomes of attempts run by this process since it started. */
  processed: { completed: number; failed: number; retried: number; dead: number };
}

/** Tuning of the job runner. */
export interface JobsOptions {
  /** How often an idle queue looks for due jobs (ms). Local enqueues wake it at once. */
  pollMs: number;
  /** How long a claimed job stays reserved without a heartbeat before another worker may take it (ms). */
  leaseMs: number;
  /** Runs each attempt in a tracing span (none when omitted). */
  tracer?: SpanTracer;
  /** How long done and cancelled jobs are kept (ms). */
  retentionMs: number;
}

function toIso(ms: number): string {
  return new Date(Number(ms)).toISOString().replace("T", " ");
}

/** Turns a stored row into the operations API's shape. */
export function jobInfo(row: JobRow): JobInfo {
  let payload: unknown = row.payload;
  try {
    payload = typeof row.payload === "string" ? JSON.parse(row.payload) : row.payload;
  } catch {
    // a payload written by something else: shown as stored
  }
  return {
    id: row.id,
    queue: row.queue,
    payload,
    state: row.state,
    priority: Number(row.priority),
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    runAt: toIso(row.run_at),
    lastError: row.last_error,
    idempotencyKey: row.idempotency_key,
    created: toIso(row.created),
    updated: toIso(row.updated),
  };
}

/**
 * The durable job queue, kept in Basalt's own database (`_jobs`): `enqueue` writes a job (in the caller's
 * transaction when given one), `handle` runs a queue's jobs in this process. Delivery is at least once:
 * each claimed job holds a lease renewed while it runs; a worker that dies lets the lease lapse and another
 * worker (here or in another process or instance) takes the job. Failed attempts retry with exponential
 * backoff and jitter; a job out of attempts is kept as dead with its last error.
 */
export class JobsService {
  private readonly workers = new Map<string, QueueWorker>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** This process's id in `locked_by`, for operators reading the table. */
  readonly workerId = `w${process.pid}-${randomString(6)}`;
  /** Outcome counters since start. */
  readonly processed = { completed: 0, failed: 0, retried: 0, dead: 0 };

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
    private readonly options: JobsOptions,
  ) {}

  /** Creates the jobs table when missing and starts the housekeeping timer. */
  async init(): Promise<void> {
    await ensureJobsTable(this.db);
    const every = Math.max(1000, Math.min(this.options.leaseMs, 60_000));
    this.sweepTimer = setInterval(() => {
      sweepJobs(this.db, Date.now(), this.options.retentionMs).catch((err: unknown) =>
        this.log.warn({ err }, "jobs housekeeping failed"),
      );
    }, every);
    this.sweepTimer.unref();
  }

  /**
   * Adds a job to a queue and resolves once it is stored (committed, unless `tx` is given: then with that
   * transaction). Resolves with the job's id, and `created: false` when the idempotency key already had one.
   *
   * @example await app.jobs.enqueue("emails", { to }, { idempotencyKey: `welcome:${userId}`, maxAttempts: 8 })
   */
  async enqueue(
    queue: string,
    payload: unknown,
    options: EnqueueOptions = {},
  ): Promise<{ id: string; created: boolean }> {
    if (typeof queue !== "string" || !queue || queue.length > 100) throw new TypeError("invalid queue name");
    const now = Date.now();
    const runAt =
      options.runAt !== undefined
        ? Number(options.runAt instanceof Date ? options.runAt.getTime() : options.runAt)
        : now + Math.max(0, options.delay ?? 0);
    if (!Number.isFinite(runAt)) throw new TypeError("invalid runAt");
    const maxAttempts = Math.max(1, Math.trunc(options.maxAttempts ?? 5));
    const key = options.idempotencyKey ?? null;
    if (key !== null && (typeof key !== "string" || key.length > 500))
      throw new TypeError("invalid idempotencyKey");
    const result = await insertJob(
      options.tx ?? this.db,
      {
        queue,
        payload,
        runAt,
        priority: Math.trunc(options.priority ?? 0),
        maxAttempts,
        idempotencyKey: key,
        trace: this.traceOfCaller(),
      },
      now,
    );
    if (result.created) this.workers.get(queue)?.wake(runAt - now);
    return result;
  }

  /** The current span's `traceparent` ("" when tracing is off or nothing is traced here). */
  private traceOfCaller(): string {
    const tracer = this.options.tracer;
    if (!tracer) return "";
    const carrier: Record<string, string> = {};
    tracer.inject(carrier);
    return carrier.traceparent ?? "";
  }

  private traced(queue: string, handler: JobHandler): JobHandler {
    const tracer = this.options.tracer;
    if (!tracer) return handler;
    return (job) =>
      tracer.span(
        `job ${queue}`,
        { "messaging.destination.name": queue, "basalt.job.id": job.id, "basalt.job.attempt": job.attempt },
        () => handler(job),
        "consumer",
        // the attempt continues the trace of the request (or job) that enqueued it
        job.traceparent ? { traceparent: job.traceparent } : undefined,
      );
  }

  /**
   * Runs a queue's jobs in this process with `handler` (one handler per queue; a second call replaces the
   * first). The handler gets the payload, the attempt number and an AbortSignal that fires on timeout or
   * shutdown; a throw or rejection is a failed attempt. Returns a function that stops handling the queue.
   */
  handle<P = unknown>(
    queue: string,
    handler: JobHandler<P>,
    options: HandleOptions = {},
  ): () => Promise<void> {
    if (this.stopped) throw new Error("the job runner is stopped");
    const previous = this.workers.get(queue);
    const worker = new QueueWorker({
      db: this.db,
      log: this.log,
      queue,
      handler: this.traced(queue, handler as JobHandler),
      concurrency: Math.max(1, Math.trunc(options.concurrency ?? 1)),
      timeoutMs: Math.max(1, options.timeout ?? 300_000),
      backoff: options.backoff ?? {},
      pollMs: this.options.pollMs,
      leaseMs: this.options.leaseMs,
      workerId: this.workerId,
      counters: this.processed,
    });
    this.workers.set(queue, worker);
    void previous?.stop(0);
    worker.start();
    return async () => {
      if (this.workers.get(queue) === worker) this.workers.delete(queue);
      await worker.stop(this.options.leaseMs);
    };
  }

  /** True when a queue has a job that is due or running (anywhere). */
  busy(queue: string): Promise<boolean> {
    return queueBusy(this.db, queue, Date.now());
  }

  /** The queues this process handles. */
  handledQueues(): string[] {
    return [...this.workers.keys()];
  }

  /** One job, or undefined. */
  async get(id: string): Promise<JobInfo | undefined> {
    const row = await getJobRow(this.db, id);
    return row && jobInfo(row);
  }

  /** A page of jobs, newest first. */
  async list(
    filter: { queue?: string; state?: JobState },
    page = 1,
    perPage = 30,
  ): Promise<{ page: number; perPage: number; totalItems: number; totalPages: number; items: JobInfo[] }> {
    const { items, total } = await listJobRows(this.db, filter, page, perPage);
    return {
      page,
      perPage,
      totalItems: total,
      totalPages: Math.ceil(total / perPage),
      items: items.map(jobInfo),
    };
  }

  /** Re-queues a dead, cancelled or done job with fresh attempts; false when it is in another state. */
  async retry(id: string): Promise<boolean> {
    const row = await getJobRow(this.db, id);
    const ok = await retryJobRow(this.db, id, Date.now());
    if (ok && row) this.workers.get(row.queue)?.wake(0);
    return ok;
  }

  /** Cancels a pending or running job; false when it is in another state. */
  cancel(id: string): Promise<boolean> {
    return cancelJobRow(this.db, id, Date.now());
  }

  /** Queue depth, oldest due job's age and dead count per queue, plus this process's outcome counters. */
  async stats(): Promise<JobsStats> {
    const now = Date.now();
    const queues: JobsStats["queues"] = {};
    for (const row of await countJobs(this.db)) {
      queues[row.queue] ??= { pending: 0, running: 0, dead: 0, oldestPendingAgeMs: 0 };
      const q = queues[row.queue];
      q[row.state as "pending" | "running" | "dead"] = Number(row.n);
      if (row.state === "pending" && row.oldest !== null) {
        q.oldestPendingAgeMs = Math.max(0, now - Number(row.oldest));
      }
    }
    return { queues, processed: { ...this.processed } };
  }

  /**
   * Stops claiming jobs, lets running ones finish for up to `graceMs`, then aborts the rest and hands them
   * back to the queue (their attempt not counted) so another worker takes them at once.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweepTimer);
    const workers = [...this.workers.values()];
    this.workers.clear();
    await Promise.all(workers.map((w) => w.stop(graceMs)));
  }
}
