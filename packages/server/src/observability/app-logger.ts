import type { Logger } from "pino";
import type { LogsService } from "./logs-service.js";
import { LOG_LEVELS, type LogLevelName } from "./logs-table.js";
import { redactData } from "./redact.js";

/**
 * The application logger hooks and routes use (`app.logger`): levelled, structured entries that go to the
 * logs store (visible through `/api/logs`, subject to `logs.minLevel`) and to the process log. Attribute
 * keys that look like credentials are redacted in both.
 *
 * @example app.logger.info("invoice sent", { invoiceId: id, total })
 */
export class AppLogger {
  constructor(
    private readonly logs: LogsService,
    private readonly process: Logger,
    private readonly bound: Record<string, unknown> = {},
  ) {}

  /** A logger whose entries all carry these attributes too. */
  with(attributes: Record<string, unknown>): AppLogger {
    return new AppLogger(this.logs, this.process, { ...this.bound, ...attributes });
  }

  /** Logs at debug level (-4). */
  debug(message: string, attributes?: Record<string, unknown>): void {
    this.write("debug", message, attributes);
  }

  /** Logs at info level (0). */
  info(message: string, attributes?: Record<string, unknown>): void {
    this.write("info", message, attributes);
  }

  /** Logs at warn level (4). */
  warn(message: string, attributes?: Record<string, unknown>): void {
    this.write("warn", message, attributes);
  }

  /** Logs at error level (8); an `Error` attribute is stored as its name and message. */
  error(message: string, attributes?: Record<string, unknown>): void {
    this.write("error", message, attributes);
  }

  private write(level: LogLevelName, message: string, attributes: Record<string, unknown> | undefined): void {
    const data = attributes ? { ...this.bound, ...attributes } : { ...this.bound };
    const text = String(message);
    this.logs.add(LOG_LEVELS[level], text, data);
    if (this.process.isLevelEnabled(level)) {
      this.process[level]({ app: redactData(data) }, text);
    }
  }
}
