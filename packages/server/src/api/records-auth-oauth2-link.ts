import type { App } from "../core/app.js";
import type { AuthCollection } from "../core/collections/index.js";
import { findRow, insertRow, type RecordRow } from "../core/records/index.js";
import { newRecordId, nowDateTime } from "../util/index.js";

/** The record linked to a provider account in `_externalAuths`, or undefined. */
export async function findLinkedRecord(
  app: App,
  collection: AuthCollection,
  provider: string,
  providerId: string,
): Promise<RecordRow | undefined> {
  const ext = app.collections.get("_externalAuths");
  const t = app.db.dialect.quoteIdent;
  const row = await app.db.get<{ recordRef: string }>(
    `SELECT ${t("recordRef")} FROM ${t(ext.name)} WHERE ${t("collectionRef")} = ? AND ${t("provider")} = ? AND ${t("providerId")} = ? LIMIT 1`,
    [collection.id, provider, providerId],
  );
  return row ? findRow(app.db, collection, row.recordRef) : undefined;
}

/** Records in `_externalAuths` that a record signs in with a provider account (and emits the create). */
export async function linkExternalAuth(
  app: App,
  collection: AuthCollection,
  record: RecordRow,
  provider: string,
  providerId: string,
): Promise<void> {
  const ext = app.collections.get("_externalAuths");
  const now = nowDateTime();
  const row = {
    id: newRecordId(),
    collectionRef: collection.id,
    recordRef: String(record.id),
    provider,
    providerId,
    created: now,
    updated: now,
  };
  await insertRow(app.db, ext, row);
  app.events.emit("record", { action: "create", collection: ext, record: row });
}
