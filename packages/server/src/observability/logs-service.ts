import type { Logger } from "pino";
import { formatDateTime } from "../util/index.js";
import { encodeRequestEntry, type QueuedEntry, type RequestLogInput } from "./log-entry.js";
import { InThreadSink, type LogSink } from "./log-sink.js";
import type { LogsStore } from "./logs-store.js";

/** The `logs` settings, read on every request (PocketBase's names). */
export interface LogSettings {
  /** Days entries are kept; 0 turns request logging off. */
  readonly maxDays: number;
  /** Entries below this level (debug -4, info 0, warn 4, error 8) are not stored. */
  readonly minLevel: number;
  readonly logIP: boolean;
  readonly logAuthId: boolean;
}

/** Buffer and batch sizes of the log writer. */
export interface LogWriterOptions {
  /** Most entries waiting for a write; beyond it new entries are dropped and counted. */
  maxBuffered: number;
  /** Entries written per batch; a full batch is written at once. */
  batchSize: number;
  /** Longest an entry waits before its batch is written, in ms. */
  flushMs: number;
  /** How often entries older than `maxDays` are removed, in ms. */
  cleanupEveryMs: number;
}

const DEFAULTS: LogWriterOptions = {
  maxBuffered: 10_000,
  batchSize: 200,
  flushMs: 1000,
  cleanupEveryMs: 3_600_000,
};

/**
 * Request and application logs, written to the auxiliary store in batches off the request path: `add` only
 * pushes onto a bounded buffer (no await, no I/O); a timer or a full batch hands it to the sink (a writer
 * thread for SQLite). Entries buffered plus entries being written never pass `maxBuffered`: beyond it new
 * entries are dropped and counted. Secrets are redacted when a batch is prepared, off the request path.
 */
export class LogsService {
  private buffer: QueuedEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly writing = new Set<Promise<void>>();
  private inflight = 0;
  private immediate = false;
  private lastCleanup = 0;
  private readonly sink: LogSink;
  private readonly opts: LogWriterOptions;
  /** Entries dropped because the buffer was full or their batch could not be written. */
  dropped = 0;
  /** Entries written since start. */
  written = 0;

  constructor(
    readonly store: LogsStore,
    private readonly settings: () => LogSettings,
    private readonly log: Logger,
    opts: Partial<LogWriterOptions> = {},
    sink?: LogSink,
  ) {
    this.opts = { ...DEFAULTS, ...opts };
    this.sink = sink ?? new InThreadSink(store);
  }

  /** Entries waiting to be written. */
  get buffered(): number {
    return this.buffer.length;
  }

  /** True when an entry of this level would be stored under the current settings. */
  accepts(level: number): boolean {
    const s = this.settings();
    return s.maxDays > 0 && level >= s.minLevel;
  }

  /** Queues an application entry (attributes redacted before storing). */
  add(level: number, message: string, data: Record<string, unknown>): void {
    if (!this.accepts(level)) return;
    this.push({ time: Date.now(), level, message, data, request: false });
  }

  /** Queues a request entry in PocketBase's shape (`data.type = "request"`), errors at level 8. */
  request(input: RequestLogInput): void {
    const level = input.error !== undefined || input.status >= 400 ? 8 : 0;
    if (!this.accepts(level)) return;
    this.push(encodeRequestEntry(input, Date.now(), level, this.settings()));
  }

  private push(entry: QueuedEntry): void {
    if (this.buffer.length + this.inflight >= this.opts.maxBuffered) {
      this.dropped++;
      return;
    }
    this.buffer.push(entry);
    if (this.buffer.length >= this.opts.batchSize) {
      if (!this.immediate) {
        this.immediate = true;
        setImmediate(() => {
          this.immediate = false;
          void this.flush();
        });
      }
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.opts.flushMs);
      this.timer.unref();
    }
  }

  /** Hands everything buffered to the sink (and removes expired entries when due); resolves when written. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length || Date.now() - this.lastCleanup >= this.opts.cleanupEveryMs) {
      this.inflight += batch.length;
      const done: Promise<void> = this.write(batch).finally(() => {
        this.inflight -= batch.length;
        this.writing.delete(done);
      });
      this.writing.add(done);
    }
    await Promise.all([...this.writing]);
  }

  private async write(batch: QueuedEntry[]): Promise<void> {
    try {
      if (batch.length) {
        await this.sink.write(batch);
        this.written += batch.length;
      }
    } catch (err) {
      this.dropped += batch.length;
      this.log.warn({ err, entries: batch.length }, "request logs could not be written");
    }
    if (Date.now() - this.lastCleanup >= this.opts.cleanupEveryMs) await this.cleanup();
  }

  /** Removes entries older than `maxDays` days (nothing when logging is off); returns how many. */
  async cleanup(): Promise<number> {
    this.lastCleanup = Date.now();
    const days = this.settings().maxDays;
    if (days <= 0) return 0;
    try {
      return await this.store.deleteBefore(formatDateTime(new Date(Date.now() - days * 86_400_000)));
    } catch (err) {
      this.log.warn({ err }, "old request logs could not be removed");
      return 0;
    }
  }

  /** Writes what is buffered; later entries are still accepted until the store closes. */
  async close(): Promise<void> {
    await this.flush();
    await this.sink.close();
  }
}
