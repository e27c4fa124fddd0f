import type { AuthCollection } from "../core/collections/index.js";
import { findRow, type RecordRow, updateRow } from "../core/records/index.js";
import type { Queryable, SqlValue } from "../db/index.js";
import { nowDateTime, randomString } from "../util/index.js";
import { hashPassword } from "./passwords.js";
import { newTokenKey } from "./token-key.js";

/** The auth-system changes the e-mail flows, OTP and OAuth2 make to a record. */
export interface AuthRecordChanges {
  /** A new plain password (hashed here); also rotates the token key. */
  password?: string;
  /**
   * A new password already hashed (hash it before opening a transaction: hashing is slow); also rotates the
   * token key. Ignored when `password` is given.
   */
  newPasswordHash?: string;
  /** A new e-mail address; also rotates the token key. */
  email?: string;
  verified?: boolean;
  /** A replacement hash of the same password (rehash on sign-in); does not revoke tokens. */
  passwordHash?: string;
}

/** A random password nobody knows (OAuth2 sign-up, pre-hijack guard). */
export function randomPassword(): string {
  return randomString(30, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
}

/**
 * Writes auth-system changes to a record and returns the stored row: a new password or e-mail rotates the
 * `tokenKey` (revoking every token of the record, reset and e-mail-change tokens included), and every
 * `onUpdate` autodate field is touched. Returns the row unchanged when there is nothing to write.
 */
export async function updateAuthRecord(
  q: Queryable,
  collection: AuthCollection,
  record: RecordRow,
  changes: AuthRecordChanges,
): Promise<RecordRow> {
  const values: Record<string, SqlValue> = {};
  const newPassword = changes.password !== undefined || changes.newPasswordHash !== undefined;
  if (changes.password !== undefined) values.password = await hashPassword(changes.password);
  else if (changes.newPasswordHash !== undefined) values.password = changes.newPasswordHash;
  else if (changes.passwordHash !== undefined) values.password = changes.passwordHash;
  if (changes.email !== undefined && changes.email !== record.email) values.email = changes.email;
  if (changes.verified !== undefined && Boolean(record.verified) !== changes.verified) {
    values.verified = changes.verified;
  }
  if (!Object.keys(values).length) return record;
  if (newPassword || values.email !== undefined) values.tokenKey = newTokenKey();
  const now = nowDateTime();
  for (const f of collection.fields) if (f.type === "autodate" && f.onUpdate) values[f.name] = now;
  await updateRow(q, collection, String(record.id), values);
  return (await findRow(q, collection, String(record.id))) ?? record;
}
