import type { AuthCollection, CollectionsService } from "../core/collections/index.js";
import { deleteRow, findRow, insertRow, type RecordRow } from "../core/records/index.js";
import type { Database } from "../db/index.js";
import { badRequest } from "../errors/index.js";
import { newRecordId, nowDateTime } from "../util/index.js";
import { isExpired } from "./system-rows.js";

/** The sign-in methods MFA tells apart (PocketBase's names). */
export type AuthMethod = "password" | "otp" | "oauth2";

/**
 * Multi-factor sign-in state kept in `_mfas`: the first factor opens a session (its id is the `mfaId`), and
 * a second, different method for the same record completes it within the collection's `mfa.duration`.
 */
export class MfaService {
  constructor(
    private readonly db: Database,
    private readonly collections: CollectionsService,
  ) {}

  private get table() {
    return this.collections.get("_mfas");
  }

  /** Opens an MFA session after a first factor; returns its id. */
  async start(collection: AuthCollection, record: RecordRow, method: AuthMethod): Promise<string> {
    const id = newRecordId();
    const now = nowDateTime();
    await insertRow(this.db, this.table, {
      id,
      collectionRef: collection.id,
      recordRef: String(record.id),
      method,
      created: now,
      updated: now,
    });
    return id;
  }

  /**
   * Completes an MFA session with a second factor, deleting it; throws PocketBase's 400s for an unknown or
   * expired session, one of another record, or the same method used twice.
   */
  async complete(collection: AuthCollection, record: RecordRow, method: AuthMethod, mfaId: string) {
    const row = await findRow(this.db, this.table, mfaId);
    if (!row || isExpired(row, collection.mfa.duration)) {
      if (row) await deleteRow(this.db, this.table, mfaId);
      throw badRequest("Invalid or expired MFA session.");
    }
    if (row.recordRef !== String(record.id) || row.collectionRef !== collection.id) {
      throw badRequest("Invalid MFA session.");
    }
    if (row.method === method) throw badRequest("A different authentication method is required.");
    // Single use: a lost race (two completions at once) is refused like an unknown session.
    if ((await deleteRow(this.db, this.table, mfaId)) === 0)
      throw badRequest("Invalid or expired MFA session.");
  }
}
