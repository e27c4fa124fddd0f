import type { Logger } from "pino";
import { formatDateTime, newRecordId } from "../util/index.js";
import type { LogRow, LogsStore } from "./logs-store.js";
import { redactData, redactUrl } from "./redact.js";

/** The `logs` settings, read on every request (PocketBase's names). */
export interface LogSettings {
  /** Days entries are kept; 0 turns request logging off. */
  readonly maxDays: number;
  /** Entries below this level (debug -4, info 0, warn 4, error 8) are not stored. */
  readonly minLevel: number;
  readonly logIP: boolean;
  readonly logAuthId: boolean;
}

/** What the HTTP layer knows of a finished request; strings are taken as they are, redacted at flush time. */
export interface RequestLogInput {
  method: string;
  url: string;
  status: number;
  /** Milliseconds from the request's arrival to its answer. */
  execTime: number;
  referer: string;
  userAgent: string;
  /** The auth collection's name, or "" for a guest. */
  auth: string;
  authId: string;
  userIP: string;
  remoteIP: string;
  error?: string;
  details?: unknown;
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

interface Pending {
  time: number;
  level: number;
  message: string;
  data: Record<string, unknown>;
  request: boolean;
}

const DEFAULTS: LogWriterOptions = {
  maxBuffered: 10_000,
  batchSize: 200,
  flushMs: 1000,
  cleanupEveryMs: 3_600_000,
};

const cut = (s: string, max: number) => (s.length > max ? s.slice(0, max) : s);

function decoded(url: string): string {
  try {
    return decodeURI(url);
  } catch {
    return url;
  }
}

/**
 * Request and application logs, written to the auxiliary store in batches off the request path: `add` only
 * pushes onto a bounded buffer (no await, no I/O); a timer or a full batch writes it. Secrets are redacted
 * when a batch is prepared, so the hot path pays nothing for it.
 */
export class LogsService {
  private buffer: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private immediate = false;
  private lastCleanup = 0;
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
  ) {
    this.opts = { ...DEFAULTS, ...opts };
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
    const s = this.settings();
    const data: Record<string, unknown> = {
      type: "request",
      execTime: input.execTime,
      url: input.url,
      method: input.method,
      status: input.status,
      referer: input.referer,
      userAgent: input.userAgent,
      auth: input.auth,
    };
    if (input.error !== undefined) {
      data.error = input.error;
      data.details = input.details ?? {};
    }
    if (s.logAuthId && input.auth) data.authId = input.authId;
    if (s.logIP) {
      data.userIP = input.userIP;
      data.remoteIP = input.remoteIP;
    }
    this.push({ time: Date.now(), level, message: input.method, data, request: true });
  }

  private push(entry: Pending): void {
    if (this.buffer.length >= this.opts.maxBuffered) {
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

  private prepare(p: Pending): LogRow {
    const data = p.data;
    let message = p.message;
    if (p.request) {
      const url = cut(redactUrl(String(data.url)), 3000);
      data.url = url;
      data.referer = cut(redactUrl(String(data.referer)), 2000);
      data.userAgent = cut(String(data.userAgent), 2000);
      if (data.details !== undefined) data.details = redactData(data.details);
      message = `${p.message} ${decoded(url)}`;
    }
    return {
      id: newRecordId(),
      created: formatDateTime(new Date(p.time)),
      level: p.level,
      message: cut(message, 10_000),
      data: p.request ? data : (redactData(data) as Record<string, unknown>),
    };
  }

  /** Writes everything buffered now (and removes expired entries when due); resolves when written. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.buffer;
    this.buffer = [];
    this.writing = this.write(batch);
    try {
      await this.writing;
    } finally {
      this.writing = undefined;
    }
  }

  private async write(batch: Pending[]): Promise<void> {
    try {
      if (batch.length) {
        await this.store.insert(batch.map((p) => this.prepare(p)));
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
  }
}
