import type { AuthCollection, CollectionsService } from "../core/collections/index.js";
import { deleteRow, findRow, insertRow, type RecordRow } from "../core/records/index.js";
import type { Database } from "../db/index.js";
import { newRecordId, nowDateTime, randomString } from "../util/index.js";
import { hashPassword, verifyPassword } from "./passwords.js";
import { isExpired, rowsOfRecord } from "./system-rows.js";

/** How many live OTPs one record may hold before the newest is reused (PocketBase's limit). */
const MAX_LIVE_OTPS = 9;

/** A freshly issued one-time password: its `_otps` id and, when new, the plain code to send. */
export interface IssuedOtp {
  readonly id: string;
  /** The plain code, or null when the newest live OTP was reused (nothing new to send). */
  readonly password: string | null;
}

/**
 * One-time passwords for e-mail sign-in, kept hashed in `_otps`. A code is single use: it is deleted once it
 * signs someone in, and it expires after the collection's `otp.duration`.
 */
export class OtpService {
  constructor(
    private readonly db: Database,
    private readonly collections: CollectionsService,
  ) {}

  private get table() {
    return this.collections.get("_otps");
  }

  /**
   * Issues a numeric code of the collection's `otp.length` for a record, to be sent to `sentTo`. Without a
   * record (an unknown address) it spends the same hashing and answers an id that matches nothing, so the
   * answer's timing does not tell whether the account exists (issue 10).
   */
  async issue(collection: AuthCollection, record: RecordRow | undefined, sentTo: string): Promise<IssuedOtp> {
    const password = randomString(Math.max(1, collection.otp.length || 8), "0123456789");
    const hashed = await hashPassword(password);
    if (!record) return { id: newRecordId(), password: null };
    const existing = await rowsOfRecord(this.db, this.table, collection.id, String(record.id));
    const live = existing.filter((r) => !isExpired(r, collection.otp.duration));
    // Past the limit the newest code is reused rather than minting more (a guessing aid otherwise).
    if (live.length > MAX_LIVE_OTPS) return { id: String(live[0].id), password: null };
    const id = newRecordId();
    const now = nowDateTime();
    await insertRow(this.db, this.table, {
      id,
      collectionRef: collection.id,
      recordRef: String(record.id),
      password: hashed,
      sentTo,
      created: now,
      updated: now,
    });
    return { id, password };
  }

  /** The live OTP row with that id for the collection, or undefined (unknown, other collection, expired). */
  async find(collection: AuthCollection, otpId: string): Promise<RecordRow | undefined> {
    const row = await findRow(this.db, this.table, otpId);
    if (!row || row.collectionRef !== collection.id) return undefined;
    if (isExpired(row, collection.otp.duration)) {
      await deleteRow(this.db, this.table, otpId);
      return undefined;
    }
    return row;
  }

  /** True when the code matches the OTP row (hash comparison, constant time). */
  matches(row: RecordRow, password: string): Promise<boolean> {
    return verifyPassword(password, String(row.password ?? ""));
  }

  /** Deletes an OTP, so it cannot be used again; returns false when it was already gone (a race lost). */
  async consume(otpId: string): Promise<boolean> {
    return (await deleteRow(this.db, this.table, otpId)) > 0;
  }
}
