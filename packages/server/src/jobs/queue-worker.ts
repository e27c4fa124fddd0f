import type { Logger } from "pino";
import type { Database } from "../db/index.js";
import { randomString } from "../util/index.js";
import { type BackoffOptions, backoffDelay } from "./backoff.js";
import { claimJobs, completeJob, failJob, type JobRow, releaseJob, renewLease } from "./jobs-store.js";

/** What a handler receives for one attempt of a job. */
export interface JobContext<P = unknown> {
  readonly id: string;
  readonly queue: string;
  readonly payload: P;
  /** 1 on the first attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** Aborts when the attempt times out or the process shuts down; long handlers should honour it. */
  readonly signal: AbortSignal;
  /** The W3C `traceparent` of the span that enqueued the job, when tracing was on then. */
  readonly traceparent?: string;
}

/** Runs one attempt of a job; a throw or rejection fails the attempt. */
export type JobHandler<P = unknown> = (job: JobContext<P>) => unknown;

/** Everything a queue worker is built from. */
export interface QueueWorkerOptions {
  db: Database;
  log: Logger;
  queue: string;
  handler: JobHandler;
  concurrency: number;
  timeoutMs: number;
  backoff: BackoffOptions;
  pollMs: number;
  leaseMs: number;
  workerId: string;
  counters: { completed: number; failed: number; retried: number; dead: number };
}

interface Running {
  readonly row: JobRow;
  readonly token: string;
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

const MAX_ERROR_LENGTH = 2000;

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.stack || err.message : String(err);
  return text.slice(0, MAX_ERROR_LENGTH);
}

/**
 * Polls one queue and runs its jobs in this process, at most `concurrency` at a time, renewing the leases
 * of those running. It sleeps between polls, and is woken early by a local enqueue or a finished job.
 */
export class QueueWorker {
  private readonly running = new Map<string, Running>();
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly o: QueueWorkerOptions) {}

  /** Starts polling. */
  start(): void {
    this.loopDone = this.loop();
    this.heartbeat = setInterval(() => void this.renewLeases(), Math.max(50, Math.floor(this.o.leaseMs / 3)));
    this.heartbeat.unref();
  }

  /** Polls soon: at once, or when a job enqueued `inMs` from now becomes due (if sooner than the next poll). */
  wake(inMs = 0): void {
    if (inMs <= 0) {
      this.wakeUp?.();
      return;
    }
    if (inMs < this.o.pollMs) setTimeout(() => this.wakeUp?.(), inMs).unref();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      const free = this.o.concurrency - this.running.size;
      let claimed = 0;
      if (free > 0) {
        try {
          const token = `${this.o.workerId}:${randomString(8)}`;
          const rows = await claimJobs(this.o.db, this.o.queue, free, token, Date.now(), this.o.leaseMs);
          failures = 0;
          claimed = rows.length;
          for (const row of rows) this.run(row, token);
        } catch (err) {
          failures++;
          if (this.stopped) break;
          this.o.log.warn({ err, queue: this.o.queue }, "claiming jobs failed; retrying");
        }
      }
      if (this.stopped) break;
      // a full batch may mean more are due: claim again at once when there is room
      if (claimed > 0 && claimed === free) continue;
      await this.sleep(failures ? Math.min(this.o.pollMs * 2 ** failures, 30_000) : this.o.pollMs);
    }
  }

  private run(row: JobRow, token: string): void {
    const controller = new AbortController();
    const done = this.attempt(row, token, controller).finally(() => {
      this.running.delete(row.id);
      this.wakeUp?.();
    });
    this.running.set(row.id, { row, token, controller, done });
  }

  private async attempt(row: JobRow, token: string, controller: AbortController): Promise<void> {
    const { db, log, queue } = this.o;
    let payload: unknown = null;
    let outcome: { ok: true } | { ok: false; error: unknown };
    let timer: NodeJS.Timeout | undefined;
    try {
      payload = typeof row.payload === "string" ? JSON.parse(row.payload) : row.payload;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const err = new Error(`the job timed out after ${this.o.timeoutMs} ms`);
          controller.abort(err);
          reject(err);
        }, this.o.timeoutMs);
      });
      const aborted = new Promise<never>((_, reject) => {
        controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
      });
      const ctx = {
        id: row.id,
        queue,
        payload,
        attempt: Number(row.attempts),
        maxAttempts: Number(row.max_attempts),
        signal: controller.signal,
        ...(row.trace ? { traceparent: String(row.trace) } : {}),
      };
      await Promise.race([Promise.resolve().then(() => this.o.handler(ctx)), timedOut, aborted]);
      outcome = { ok: true };
    } catch (error) {
      outcome = { ok: false, error };
    } finally {
      clearTimeout(timer);
    }
    // shutting down: the job goes back to the queue untouched (stop() releases it)
    if (controller.signal.aborted && this.stopped && !outcome.ok) return;
    const now = Date.now();
    try {
      if (outcome.ok) {
        if (await completeJob(db, row.id, token, now)) this.o.counters.completed++;
        return;
      }
      this.o.counters.failed++;
      const attempts = Number(row.attempts);
      const last = attempts >= Number(row.max_attempts);
      const retryAt = last ? null : now + backoffDelay(attempts, this.o.backoff);
      if (await failJob(db, row.id, token, errorText(outcome.error), retryAt, now)) {
        if (last) this.o.counters.dead++;
        else this.o.counters.retried++;
        log.warn(
          { err: outcome.error, queue, job: row.id, attempt: attempts, dead: last },
          "job attempt failed",
        );
      }
    } catch (err) {
      // the lease will lapse and the job run again: at least once
      log.error({ err, queue, job: row.id }, "recording a job's outcome failed");
    }
  }

  private async renewLeases(): Promise<void> {
    const until = Date.now() + this.o.leaseMs;
    for (const r of this.running.values()) {
      try {
        if (!(await renewLease(this.o.db, r.row.id, r.token, until))) {
          // cancelled, or taken by another worker after a stall: stop this attempt's work if it listens
          r.controller.abort(new Error("the job's lease was lost"));
        }
      } catch (err) {
        this.o.log.warn({ err, queue: this.o.queue }, "renewing a job lease failed");
      }
    }
  }

  /** Stops polling; waits up to `graceMs` for running jobs, then aborts and releases the rest. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.loopDone;
    const left = [...this.running.values()];
    if (left.length) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([Promise.all(left.map((r) => r.done)), grace]);
      clearTimeout(timer);
    }
    clearInterval(this.heartbeat);
    const now = Date.now();
    for (const r of this.running.values()) {
      r.controller.abort(new Error("the server is shutting down"));
      await releaseJob(this.o.db, r.row.id, r.token, now).catch((err: unknown) =>
        this.o.log.warn({ err, job: r.row.id }, "releasing a job at shutdown failed"),
      );
    }
  }
}
