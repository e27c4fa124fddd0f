import { Cron } from "croner";
import type { Logger } from "pino";
import type { JobsService } from "./jobs-service.js";

/** The queue cron ticks go through, so each tick runs once across every instance sharing the database. */
export const CRON_QUEUE = "_cron";

/** A scheduled function; it receives the tick's scheduled time (or the time of a manual run). */
export type CronHandler = (tick: Date) => unknown;

interface CronEntry {
  readonly id: string;
  readonly expression: string;
  readonly schedule: Cron;
  readonly handler: CronHandler;
  timer?: NodeJS.Timeout;
}

const ID = /^[\w.:-]{1,100}$/;
// setTimeout holds at most 2^31-1 ms; a longer wait is taken in steps
const MAX_WAIT_MS = 2 ** 31 - 1;

/** Parses a five-field cron expression or macro (`@hourly`, `@daily` …) in UTC; throws when invalid. */
export function parseCron(expression: string): Cron {
  return new Cron(expression.trim(), { timezone: "UTC", mode: "5-part", paused: true });
}

/**
 * Cron jobs (PocketBase's `app.cron()`), in UTC. Every instance registers the same jobs and keeps its own
 * timers; at each tick, each instance enqueues the tick as a job keyed by cron id and scheduled time, so the
 * idempotency key lets one enqueue through and exactly one instance runs the handler. Ticks that fall while
 * every instance is down are skipped, as in PocketBase.
 */
export class CronService {
  private readonly entries = new Map<string, CronEntry>();
  private stopped = false;
  private started = false;

  constructor(
    private readonly jobs: JobsService,
    private readonly log: Logger,
  ) {}

  /** Starts running the ticks this process wins; called by the first `add`. */
  private startWorker(): void {
    if (this.started) return;
    this.started = true;
    this.jobs.handle<{ id: string; tick: number }>(
      CRON_QUEUE,
      async ({ payload }) => {
        const entry = this.entries.get(payload.id);
        // another instance registered it (e.g. a newer deployment): fail, so an instance that has it retries
        if (!entry) throw new Error(`cron job "${payload.id}" is not registered in this instance`);
        try {
          await entry.handler(new Date(payload.tick));
        } catch (err) {
          // as in PocketBase, a failing cron run is logged, not retried: the next tick is the retry
          this.log.error({ err, cron: entry.id }, "cron job failed");
        }
      },
      { concurrency: 4, timeout: 3_600_000, backoff: { baseMs: 200, maxMs: 2000 } },
    );
  }

  /**
   * Registers (or replaces) a cron job.
   *
   * @example app.cron.add("cleanup", "0 3 * * *", async () => { await purgeOldDrafts(app) })
   */
  add(id: string, expression: string, handler: CronHandler): void {
    if (!ID.test(id)) throw new TypeError(`invalid cron id "${id}"`);
    if (typeof handler !== "function") throw new TypeError("the cron handler must be a function");
    const schedule = parseCron(expression);
    this.remove(id);
    const entry: CronEntry = { id, expression: expression.trim(), schedule, handler };
    this.entries.set(id, entry);
    this.startWorker();
    this.arm(entry);
  }

  /** Removes a cron job; true when it existed. */
  remove(id: string): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    clearTimeout(entry.timer);
    this.entries.delete(id);
    return true;
  }

  /** The registered jobs as PocketBase lists them: `{id, expression}`, by id. */
  list(): { id: string; expression: string }[] {
    return [...this.entries.values()]
      .map((e) => ({ id: e.id, expression: e.expression }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** True when a job of that id is registered. */
  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Runs a job's handler now, in this process, outside its schedule (`POST /api/crons/{id}`). */
  async run(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) throw new Error(`no cron job "${id}"`);
    await entry.handler(new Date());
  }

  /**
   * What every instance does at a tick: enqueue it under the key `id@time`. The first enqueue across the
   * instances stores the job; the others are no-ops, so one instance runs it. Errors are logged.
   */
  async enqueueTick(id: string, tick: Date): Promise<void> {
    try {
      await this.jobs.enqueue(
        CRON_QUEUE,
        { id, tick: tick.getTime() },
        { idempotencyKey: `${id}@${tick.getTime()}`, maxAttempts: 3 },
      );
    } catch (err) {
      this.log.error({ err, cron: id }, "enqueuing a cron tick failed");
    }
  }

  private arm(entry: CronEntry): void {
    if (this.stopped || this.entries.get(entry.id) !== entry) return;
    const next = entry.schedule.nextRun(new Date());
    if (!next) return;
    const wait = Math.min(MAX_WAIT_MS, Math.max(0, next.getTime() - Date.now()));
    entry.timer = setTimeout(() => {
      if (Date.now() + 5 < next.getTime()) return this.arm(entry);
      void this.enqueueTick(entry.id, next);
      this.arm(entry);
    }, wait);
    entry.timer.unref();
  }

  /** Clears every timer; registered jobs stay listed. */
  stop(): void {
    this.stopped = true;
    for (const e of this.entries.values()) clearTimeout(e.timer);
  }
}
