import { type Database, syncTable, type TableSpec } from "../db/index.js";
import type { RuleCollection } from "../rules/index.js";

/** The table of request and application logs, in the auxiliary store (PocketBase's `_logs`). */
export const LOGS_TABLE = "_logs";

/** PocketBase's (slog's) log levels. */
export const LOG_LEVELS = { debug: -4, info: 0, warn: 4, error: 8 } as const;

/** The level names an application log entry may have. */
export type LogLevelName = keyof typeof LOG_LEVELS;

/**
 * The schema of `_logs`: `created` is PocketBase's datetime text (`2006-01-02 15:04:05.000Z`), which sorts
 * and compares alike on every engine; `data` holds the entry's attributes as JSON.
 */
export const LOGS_TABLE_SPEC: TableSpec = {
  name: LOGS_TABLE,
  columns: [
    { key: "id", name: "id", kind: "id" },
    { key: "created", name: "created", kind: "text" },
    { key: "level", name: "level", kind: "number" },
    { key: "message", name: "message", kind: "text" },
    { key: "data", name: "data", kind: "json" },
  ],
  indexes: [
    { name: "idx__logs_created", unique: false, columns: [{ name: "created" }] },
    { name: "idx__logs_level", unique: false, columns: [{ name: "level" }] },
  ],
};

/**
 * The fields `/api/logs` may filter and sort by, as PocketBase allows: `id, created, level, message, data`
 * and any `data.<path>` (the JSON field's paths).
 */
export const LOGS_RULE_COLLECTION: RuleCollection = {
  id: LOGS_TABLE,
  name: LOGS_TABLE,
  type: "base",
  fields: [
    { id: "id", name: "id", type: "text" },
    { id: "created", name: "created", type: "autodate" },
    { id: "level", name: "level", type: "number" },
    { id: "message", name: "message", type: "text" },
    { id: "data", name: "data", type: "json" },
  ],
};

/** Creates `_logs` where it does not exist yet, once across instances starting together. */
export async function ensureLogsTable(db: Database): Promise<void> {
  if (await db.tableExists(LOGS_TABLE)) return;
  await db.lockedTransaction("logs-bootstrap", async (tx) => {
    if (!(await tx.tableExists(LOGS_TABLE))) await syncTable(tx, null, LOGS_TABLE_SPEC);
  });
}
