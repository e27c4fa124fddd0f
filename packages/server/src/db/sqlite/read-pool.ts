import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { DbTimeoutError, DbUnavailableError } from "../errors.js";
import { translateSqliteError } from "./errors.js";

// Issue 10: better-sqlite3 runs a statement synchronously on the thread that calls it, so one expensive
// client query (a filter within every fan-out limit that still joins a thousand rows a thousand ways) held
// the event loop, and every other client waited, until the query budget ran out. A read that runs past a
// short threshold on the main connection is stopped there and run again here, on a read-only connection of
// its own in a worker thread: the event loop serves everyone else meanwhile.
//
// The worker is inline CommonJS that loads the driver by its resolved path, so it runs the same from the
// TypeScript sources (tests) and from the compiled package (as snapshot.ts does). It registers the same SQL
// functions as the main connections (`basalt_tick`, the budget check in every join of a filter), keeps a
// bounded statement cache it drops when the schema generation changes, and answers one job at a time:
// `{id, rows}` or `{id, error}`.
const WORKER = `
const { workerData, parentPort } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { readonly: true, fileMustExist: true });
db.pragma("busy_timeout = " + workerData.busyTimeoutMs);
db.pragma("temp_store = MEMORY");
db.pragma("cache_size = -16000");
const clock = { deadline: Infinity, calls: 0 };
const TIMEOUT = new Error("basalt: the query budget is spent");
db.function("basalt_tick", { deterministic: false }, () => {
  if ((++clock.calls & 255) === 0 && performance.now() > clock.deadline) throw TIMEOUT;
  return 1;
});
const cache = new Map();
let generation = -1;
function prepare(sql) {
  let stmt = cache.get(sql);
  if (stmt) {
    cache.delete(sql);
    cache.set(sql, stmt);
    return stmt;
  }
  stmt = db.prepare(sql);
  cache.set(sql, stmt);
  if (cache.size > 200) cache.delete(cache.keys().next().value);
  return stmt;
}
const asBuffer = (v) => (v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v);
parentPort.on("message", (job) => {
  if (job.generation !== generation) {
    cache.clear();
    generation = job.generation;
  }
  clock.deadline = performance.now() + job.remainingMs;
  try {
    const stmt = prepare(job.sql);
    const params = job.params.map(asBuffer);
    const rows = job.op === "get" ? stmt.get(...params) : stmt.all(...params);
    parentPort.postMessage({ id: job.id, rows });
  } catch (err) {
    const error = err === TIMEOUT ? { timeout: true } : { message: String(err && err.message), code: err && err.code };
    parentPort.postMessage({ id: job.id, error });
  } finally {
    clock.deadline = Infinity;
  }
});
`;

const driverPath = createRequire(import.meta.url).resolve("better-sqlite3");

/** How the pool opens its connections and how many it keeps. */
export interface ReadPoolOptions {
  /** Worker threads, each with one read-only connection (started on first use). */
  readonly size: number;
  /** Milliseconds a worker's connection waits on a lock before failing. */
  readonly busyTimeoutMs: number;
}

interface Job {
  readonly id: number;
  readonly op: "all" | "get";
  readonly sql: string;
  readonly params: unknown[];
  /** `performance.now()` past which the job fails with a timeout, queued or running. */
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly resolve: (rows: unknown) => void;
  readonly reject: (err: unknown) => void;
  timer?: NodeJS.Timeout;
}

interface Slot {
  readonly worker: Worker;
  job: Job | null;
}

/** Jobs one slot may have waiting before new ones are refused at once (each would time out queued anyway). */
const QUEUE_PER_WORKER = 64;

/** better-sqlite3 gives BLOBs as Buffers; a message between threads turns them into plain Uint8Arrays. */
function restoreBuffers(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Uint8Array) {
    return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = restoreBuffers(value[i]);
    return value;
  }
  const row = value as Record<string, unknown>;
  for (const key in row) {
    const v = row[key];
    if (v !== null && typeof v === "object") row[key] = restoreBuffers(v);
  }
  return row;
}

/**
 * Worker threads that run read statements on read-only connections to the same SQLite file (WAL: they see
 * every committed write, as the main reader does), one job per worker at a time, the rest queued in order.
 * A job's time budget covers its wait in the queue: past it, it fails with a DbTimeoutError wherever it is.
 */
export class SqliteReadPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  /** Bumped after a schema change: workers drop their prepared statements before the next job. */
  generation = 0;

  constructor(
    private readonly file: string,
    private readonly options: ReadPoolOptions,
  ) {}

  /** Threads started so far (they start on first use). */
  get started(): number {
    return this.slots.length;
  }

  /**
   * Runs a read statement in a worker: all rows (`all`) or the first (`get`). `params` are bound as they are
   * (booleans already turned into numbers); `deadline` is a `performance.now()` time.
   */
  run(
    op: "all" | "get",
    sql: string,
    params: unknown[],
    deadline: number,
    timeoutMs: number,
  ): Promise<unknown> {
    if (this.closed) return Promise.reject(new DbUnavailableError("the database is closed"));
    return new Promise((resolve, reject) => {
      const job: Job = { id: this.nextId++, op, sql, params, deadline, timeoutMs, resolve, reject };
      const slot = this.freeSlot();
      if (slot) return this.dispatch(slot, job);
      if (this.queue.length >= QUEUE_PER_WORKER * this.options.size)
        return reject(new DbTimeoutError(timeoutMs));
      const wait = deadline - performance.now();
      if (wait <= 0) return reject(new DbTimeoutError(timeoutMs));
      job.timer = setTimeout(() => {
        const at = this.queue.indexOf(job);
        if (at >= 0) this.queue.splice(at, 1);
        reject(new DbTimeoutError(timeoutMs));
      }, wait);
      this.queue.push(job);
    });
  }

  /** Stops every worker; queued and running jobs fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) {
      clearTimeout(job.timer);
      job.reject(new DbUnavailableError("the database is closed"));
    }
    const slots = this.slots.splice(0);
    await Promise.all(
      slots.map(async (slot) => {
        slot.job?.reject(new DbUnavailableError("the database is closed"));
        slot.job = null;
        await slot.worker.terminate();
      }),
    );
  }

  private freeSlot(): Slot | undefined {
    const idle = this.slots.find((s) => s.job === null);
    if (idle) return idle;
    if (this.slots.length < this.options.size) return this.spawn();
    return undefined;
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: { driver: driverPath, file: this.file, busyTimeoutMs: this.options.busyTimeoutMs },
    });
    // an idle pool never keeps the process alive (a running job does)
    worker.unref();
    const slot: Slot = { worker, job: null };
    worker.on(
      "message",
      (m: { id: number; rows?: unknown; error?: { timeout?: boolean; message?: string; code?: string } }) => {
        const job = slot.job;
        if (!job || job.id !== m.id) return;
        slot.job = null;
        worker.unref();
        if (m.error?.timeout) job.reject(new DbTimeoutError(job.timeoutMs));
        else if (m.error) {
          const err = Object.assign(new Error(m.error.message), { code: m.error.code });
          job.reject(translateSqliteError(err));
        } else job.resolve(restoreBuffers(m.rows));
        this.next(slot);
      },
    );
    const lost = (err?: unknown) => {
      const at = this.slots.indexOf(slot);
      if (at < 0) return;
      this.slots.splice(at, 1);
      const job = slot.job;
      slot.job = null;
      job?.reject(new DbUnavailableError("a SQLite reader thread stopped", err));
      // the next job starts a new worker in the freed place
      const waiting = this.queue.shift();
      if (waiting) {
        clearTimeout(waiting.timer);
        if (this.closed) waiting.reject(new DbUnavailableError("the database is closed"));
        else this.dispatch(this.spawn(), waiting);
      }
    };
    worker.on("error", lost);
    worker.on("exit", () => lost());
    this.slots.push(slot);
    return slot;
  }

  private dispatch(slot: Slot, job: Job): void {
    const remainingMs = job.deadline - performance.now();
    if (remainingMs <= 0) {
      job.reject(new DbTimeoutError(job.timeoutMs));
      this.next(slot);
      return;
    }
    slot.job = job;
    slot.worker.ref();
    slot.worker.postMessage({
      id: job.id,
      op: job.op,
      sql: job.sql,
      params: job.params,
      remainingMs,
      generation: this.generation,
    });
  }

  private next(slot: Slot): void {
    const job = this.queue.shift();
    if (!job) return;
    clearTimeout(job.timer);
    this.dispatch(slot, job);
  }
}
