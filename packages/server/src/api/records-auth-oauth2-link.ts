import { hashPassword, updateAuthRecord } from "../auth/index.js";
import type { App } from "../core/app.js";
import type { AuthCollection } from "../core/collections/index.js";
import type { RecordEvent } from "../core/events.js";
import { deleteRow, findRow, insertRow, type RecordRow } from "../core/records/index.js";
import type { Queryable } from "../db/index.js";
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

/**
 * Records in `_externalAuths` (through `q`, usually the caller's transaction) that a record signs in with a
 * provider account. Returns the create event for the caller to emit once the transaction has committed.
 */
export async function linkExternalAuth(
  q: Queryable,
  app: App,
  collection: AuthCollection,
  record: RecordRow,
  provider: string,
  providerId: string,
): Promise<RecordEvent> {
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
  await insertRow(q, ext, row);
  return { action: "create", collection: ext, record: row };
}

/**
 * Deletes every provider account linked to a record (through `q`, usually the caller's transaction) except
 * `keep`, if given. Returns the delete events for the caller to emit once the transaction has committed.
 */
export async function unlinkExternalAuths(
  q: Queryable,
  app: App,
  collection: AuthCollection,
  record: RecordRow,
  keep?: { provider: string; providerId: string },
): Promise<RecordEvent[]> {
  const ext = app.collections.get("_externalAuths");
  const t = q.dialect.quoteIdent;
  const rows = await q.all<RecordRow>(
    `SELECT * FROM ${t(ext.name)} WHERE ${t("collectionRef")} = ? AND ${t("recordRef")} = ?`,
    [collection.id, String(record.id)],
  );
  const doomed = rows.filter(
    (r) => !keep || r.provider !== keep.provider || r.providerId !== keep.providerId,
  );
  for (const r of doomed) await deleteRow(q, ext, String(r.id));
  return doomed.map((r) => ({ action: "delete", collection: ext, record: r }));
}

/**
 * Applies changes that mark an unverified account verified (password reset, e-mail verification, OTP) in one
 * transaction, removing every provider link the account gathered while unverified: whoever pre-registered the
 * address must not keep a way in once the real owner proves it (PocketBase's GHSA-pq7p-mc74-g65w). The
 * password, when changed, is hashed before the transaction opens. Events are emitted after the commit.
 */
export async function verifyAccount(
  app: App,
  collection: AuthCollection,
  record: RecordRow,
  changes: { verified: true; password?: string },
): Promise<RecordRow> {
  const newPasswordHash = changes.password === undefined ? undefined : await hashPassword(changes.password);
  let unlinked: RecordEvent[] = [];
  const after = await app.db.transaction(async (tx) => {
    const updated = await updateAuthRecord(tx, collection, record, { verified: true, newPasswordHash });
    if (!record.verified) unlinked = await unlinkExternalAuths(tx, app, collection, record);
    return updated;
  });
  app.events.emit("record", { action: "update", collection, record: after, before: record });
  for (const e of unlinked) app.events.emit("record", e);
  return after;
}
