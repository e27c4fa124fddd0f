export { AppLogger } from "./app-logger.js";
export type { RequestLogInput } from "./log-entry.js";
export { createLogSink, type LogSink } from "./log-sink.js";
export { type LogSettings, LogsService, type LogWriterOptions } from "./logs-service.js";
export { type LogRow, type LogsQuery, type LogsStatsItem, LogsStore } from "./logs-store.js";
export { LOG_LEVELS, LOGS_TABLE, type LogLevelName } from "./logs-table.js";
export { Metrics, type MetricsSources } from "./metrics.js";
export { REDACTED, redactData, redactUrl } from "./redact.js";
export { failSpan, Tracing, tracingEnabled } from "./tracing.js";
