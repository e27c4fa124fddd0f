import type { Collection } from "../core/collections/index.js";
import type { RecordRow } from "../core/records/index.js";
import type { Queryable } from "../db/index.js";
import { parseDateTime } from "../util/index.js";

/** True when a system row (`_otps`, `_mfas`) was created more than `seconds` ago. */
export function isExpired(row: RecordRow, seconds: number, now = Date.now()): boolean {
  const created = parseDateTime(String(row.created ?? ""));
  return !created || created.getTime() + seconds * 1000 <= now;
}

/** The rows of a system collection that belong to one auth record, newest first. */
export function rowsOfRecord(
  q: Queryable,
  system: Collection,
  collectionId: string,
  recordId: string,
): Promise<RecordRow[]> {
  const t = q.dialect.quoteIdent;
  return q.all<RecordRow>(
    `SELECT * FROM ${t(system.name)} WHERE ${t("collectionRef")} = ? AND ${t("recordRef")} = ? ORDER BY ${t("created")} DESC`,
    [collectionId, recordId],
  );
}
