import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import { IdPool, prepareEntry, type QueuedEntry } from "./log-entry.js";
import type { LogsStore } from "./logs-store.js";

/** Where batches of log entries go: the store in this thread, or a writer thread. */
export interface LogSink {
  /** Prepares and stores a batch; resolves once it is committed. */
  write(batch: QueuedEntry[]): Promise<void>;
  close(): Promise<void>;
}

/** Writes batches in this thread (PostgreSQL: the inserts are network I/O, not event-loop time). */
export class InThreadSink implements LogSink {
  private readonly ids = new IdPool();
  constructor(private readonly store: LogsStore) {}

  write(batch: QueuedEntry[]): Promise<void> {
    return this.store.insert(batch.map((p) => prepareEntry(p, this.ids)));
  }

  async close(): Promise<void> {}
}

interface Reply {
  seq: number;
  error?: string;
}

/**
 * Writes batches to the SQLite auxiliary file from a worker thread: redaction, formatting, JSON and the
 * inserts happen there, so the event loop only hands the batch over. Falls back to `fallback` if the
 * worker dies.
 */
export class WorkerSink implements LogSink {
  private readonly worker: Worker;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private dead = false;

  constructor(
    file: string,
    private readonly fallback: LogSink,
    private readonly log: Logger,
  ) {
    this.worker = new Worker(WORKER_FILE, { workerData: { file } });
    this.worker.unref();
    this.worker.on("message", (m: Reply) => {
      const w = this.waiting.get(m.seq);
      if (!w) return;
      this.waiting.delete(m.seq);
      if (m.error) w.reject(new Error(m.error));
      else w.resolve();
    });
    this.worker.on("error", (err) => this.died(err));
    this.worker.on("exit", () => this.died(new Error("the log writer thread exited")));
  }

  private died(err: Error): void {
    if (this.dead) return;
    this.dead = true;
    this.log.warn({ err }, "log writer thread stopped: writing logs on the main thread");
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }

  write(batch: QueuedEntry[]): Promise<void> {
    if (this.dead) return this.fallback.write(batch);
    const seq = ++this.seq;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      try {
        this.worker.postMessage({ seq, batch });
      } catch {
        // attributes a structured clone cannot carry (functions, class instances): send their JSON form
        this.worker.postMessage({ seq, batch: JSON.parse(JSON.stringify(batch)) as QueuedEntry[] });
      }
    });
  }

  async close(): Promise<void> {
    if (this.dead) return;
    this.dead = true;
    await this.worker.terminate();
  }
}

const WORKER_FILE = fileURLToPath(new URL("./log-writer-worker.js", import.meta.url));

/**
 * The sink for the auxiliary store: a writer thread for an SQLite file when the compiled worker is present
 * (running from `dist`), else this thread. `sqliteFile` is null on PostgreSQL.
 */
export function createLogSink(store: LogsStore, sqliteFile: string | null, log: Logger): LogSink {
  const local = new InThreadSink(store);
  if (!sqliteFile || !existsSync(WORKER_FILE)) return local;
  // the native driver must load in the worker too
  createRequire(import.meta.url).resolve("better-sqlite3");
  return new WorkerSink(sqliteFile, local, log);
}
