import type { App } from "../../core/app.js";
import type { AuthCollection } from "../../core/collections/index.js";
import {
  findRow,
  type RecordRequest,
  type RecordRow,
  type RecordsService,
} from "../../core/records/index.js";
import { newRecordId, nowDateTime } from "../../util/index.js";
import { updateAuthRecord } from "../auth-record-writes.js";
import { hashPassword } from "../passwords.js";

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

/** The system acting on its own records (auth flows): rules bypassed, hooks and events as for any write. */
const SYSTEM: RecordRequest = { auth: null, system: true, method: "DELETE", context: "default" };

/**
 * Records in `_externalAuths` (through `records`, usually bound to the caller's transaction) that a record
 * signs in with a provider account; model hooks run and the event follows the commit.
 */
export async function linkExternalAuth(
  records: RecordsService,
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
  await records.systemInsert(ext, row);
}

/**
 * Deletes every provider account linked to a record (through `records`, usually bound to the caller's
 * transaction) except `keep`, if given; model hooks run and the events follow the commit.
 */
export async function unlinkExternalAuths(
  records: RecordsService,
  app: App,
  collection: AuthCollection,
  record: RecordRow,
  keep?: { provider: string; providerId: string },
): Promise<void> {
  const ext = app.collections.get("_externalAuths");
  const q = records.queryContext(SYSTEM).q;
  const t = q.dialect.quoteIdent;
  const rows = await q.all<RecordRow>(
    `SELECT * FROM ${t(ext.name)} WHERE ${t("collectionRef")} = ? AND ${t("recordRef")} = ?`,
    [collection.id, String(record.id)],
  );
  const doomed = rows.filter(
    (r) => !keep || r.provider !== keep.provider || r.providerId !== keep.providerId,
  );
  for (const r of doomed) await records.delete(ext, String(r.id), SYSTEM);
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
  return app.records.transaction(async (records) => {
    const updated = await records.systemUpdate(collection, record, (q) =>
      updateAuthRecord(q, collection, record, { verified: true, newPasswordHash }),
    );
    if (!record.verified) await unlinkExternalAuths(records, app, collection, record);
    return updated;
  });
}
