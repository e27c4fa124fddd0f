import {
  type AuthCollection,
  type CollectionsService,
  isAuthCollection,
  SUPERUSERS,
  SUPERUSERS_ID,
} from "../core/collections/index.js";
import {
  type ApiKeyScope,
  findRow,
  findRowBy,
  insertRow,
  type RecordRow,
  updateRow,
} from "../core/records/index.js";
import type { Database } from "../db/index.js";
import { badRequest, fieldError } from "../errors/index.js";
import { newRecordId, nowDateTime } from "../util/index.js";
import { ApiKeysService } from "./api-keys-service.js";
import { updateAuthRecord } from "./auth-record-writes.js";
import { MfaService } from "./mfa-service.js";
import { OtpService } from "./otp-service.js";
import {
  burnPasswordCheck,
  hashPassword,
  isCheckableHash,
  needsRehash,
  verifyPassword,
} from "./passwords.js";
import { newTokenKey } from "./token-key.js";
import { decodeToken, signatureMatches, signToken, type TokenClaims, type TokenType } from "./tokens.js";

/** Who is calling: the auth record, its collection, and the verified token claims. */
export interface RequestAuth {
  readonly collection: AuthCollection;
  readonly record: RecordRow;
  readonly claims: TokenClaims;
  readonly isSuperuser: boolean;
  /** Set when the request came with an API key (issue 18): its id, and its scope (null: unrestricted). */
  readonly apiKey?: { readonly id: string; readonly scope: ApiKeyScope | null };
}

const EMAIL_RE = /^[^\s@"<>()[\]\\,;:]+@[^\s@"<>()[\]\\,;:]+\.[^\s@"<>()[\]\\,;:]+$/;

/** True for a plausible e-mail address (one @, a dot in the domain, no spaces or specials). */
export function isValidEmail(email: string): boolean {
  return email.length <= 254 && EMAIL_RE.test(email);
}

/** How many verified tokens are remembered (at most 4 KiB each, so a few MiB at worst). */
const VERIFIED_TOKENS_KEPT = 1000;

const SECRET_BY_TYPE: Record<
  TokenType,
  keyof Pick<
    AuthCollection,
    "authToken" | "fileToken" | "verificationToken" | "passwordResetToken" | "emailChangeToken"
  >
> = {
  auth: "authToken",
  file: "fileToken",
  verification: "verificationToken",
  passwordReset: "passwordResetToken",
  emailChange: "emailChangeToken",
};

/**
 * Issues and verifies tokens and checks passwords for auth collections. A token is signed with the record's
 * `tokenKey` plus the collection's secret for that token type, so a new password or token key, or a deleted
 * record, revokes it.
 */
export class AuthService {
  /** One-time e-mail codes (`_otps`). */
  readonly otp: OtpService;
  /** Multi-factor sign-in sessions (`_mfas`). */
  readonly mfa: MfaService;

  constructor(
    private readonly db: Database,
    private readonly collections: CollectionsService,
  ) {
    this.otp = new OtpService(db, collections);
    this.mfa = new MfaService(db, collections);
  }

  private signingKey(collection: AuthCollection, record: RecordRow, type: TokenType): string {
    return `${String(record.tokenKey ?? "")}${collection[SECRET_BY_TYPE[type]].secret}`;
  }

  /** Issues a token of a type for an auth record. */
  newToken(
    collection: AuthCollection,
    record: RecordRow,
    type: TokenType,
    extra: Partial<TokenClaims> = {},
    durationSeconds = collection[SECRET_BY_TYPE[type]].duration,
  ): string {
    const claims: TokenClaims = {
      id: String(record.id),
      type,
      collectionId: collection.id,
      exp: Math.floor(Date.now() / 1000) + durationSeconds,
      ...extra,
    };
    if (type === "auth" && claims.refreshable === undefined) claims.refreshable = true;
    return signToken(claims, this.signingKey(collection, record, type));
  }

  /**
   * Verifies a token of the expected type and returns its record, or null when it is forged, expired, of
   * another type, or its record or collection is gone.
   */
  async verify(token: string, type: TokenType): Promise<RequestAuth | null> {
    const known = this.verified.get(token);
    const claims = known ? known.claims : decodeToken(token);
    if (!claims || claims.type !== type) return null;
    if (claims.exp <= Date.now() / 1000) return null;
    const collection = this.collections.find(claims.collectionId);
    if (!collection || collection.id !== claims.collectionId || !isAuthCollection(collection)) return null;
    // the record is read every time: its current token key (and e-mail) decide, and rules see its values
    const record = await findRow(this.db, collection, claims.id);
    if (!record) return null;
    const key = this.signingKey(collection, record, type);
    if (known?.key !== key) {
      if (!signatureMatches(token, key)) return null;
      this.rememberVerified(token, claims, key);
    }
    // A link sent to an address is void once the account has another one (reset, verification, e-mail change).
    if (
      typeof claims.email === "string" &&
      claims.email.toLowerCase() !== String(record.email ?? "").toLowerCase()
    ) {
      return null;
    }
    return { collection, record, claims, isSuperuser: collection.id === SUPERUSERS_ID };
  }

  /**
   * Tokens whose signature was checked, with their decoded claims and the key that signed them (issue 19:
   * decoding and the HMAC were a third of an authenticated request's auth cost). Only a genuine token gets
   * here, so a client cannot fill it with forgeries; a new token key or collection secret changes the key,
   * which makes the next request check the signature again (and fail), and expiry is checked every time.
   */
  private readonly verified = new Map<string, { claims: TokenClaims; key: string }>();

  private rememberVerified(token: string, claims: TokenClaims, key: string): void {
    if (this.verified.size >= VERIFIED_TOKENS_KEPT) {
      // the oldest entry goes first (a Map iterates in insertion order)
      this.verified.delete(this.verified.keys().next().value as string);
    }
    this.verified.set(token, { claims: Object.freeze(claims), key });
  }

  /** The record of an auth collection with that e-mail (compared case-insensitively), or undefined. */
  findByEmail(collection: AuthCollection, email: string): Promise<RecordRow | undefined> {
    if (!email) return Promise.resolve(undefined);
    return findRowBy(this.db, collection, "email", email, true);
  }

  /**
   * Reads the `Authorization` header (with or without `Bearer `): an invalid token means a guest (null), as in
   * PocketBase; an API key (`bsk_…`, issue 18) that does not hold throws a 401 instead, so a revoked key is
   * told, never silently served as a guest.
   */
  async authenticate(header: string | undefined): Promise<RequestAuth | null> {
    if (!header) return null;
    const token = header.replace(/^bearer\s+/i, "").trim();
    if (!token) return null;
    if (this.apiKeys && ApiKeysService.isKey(token)) return this.apiKeys.authenticate(token);
    return this.verify(token, "auth");
  }

  /** API keys, once the app plugs them in (none: a key is an invalid token, a guest). */
  apiKeys: ApiKeysService | null = null;

  /**
   * Finds the record for an identity and password. Returns null for a wrong password or unknown identity,
   * after spending the same time either way.
   */
  async checkPassword(
    collection: AuthCollection,
    identity: string,
    password: string,
    identityField?: string,
  ): Promise<RecordRow | null> {
    const fields = identityField ? [identityField] : collection.passwordAuth.identityFields;
    let record: RecordRow | undefined;
    for (const name of fields) {
      if (!collection.passwordAuth.identityFields.includes(name)) continue;
      if (!collection.fields.some((f) => f.name === name)) continue;
      // As PocketBase: the e-mail ignores case (its unique index is NOCASE); other identity fields match exactly,
      // the way their required unique index compares, so every look-up is an index seek (issue 10)
      record = await findRowBy(this.db, collection, name, identity, name === "email");
      if (record) break;
    }
    // an unknown identity, or an account without a password (OAuth2/OTP only), spends what a check costs
    if (!record || !isCheckableHash(record.password)) {
      await burnPasswordCheck(password);
      return null;
    }
    const stored = String(record.password ?? "");
    if (!(await verifyPassword(password, stored))) return null;
    // A bcrypt hash imported from PocketBase is upgraded to argon2id now that the password is known.
    if (needsRehash(stored)) {
      record = await updateAuthRecord(this.db, collection, record, {
        passwordHash: await hashPassword(password),
      });
    }
    return record;
  }

  /** Creates or updates a superuser's password (CLI and start-up); a new password revokes old tokens. */
  async upsertSuperuser(email: string, password: string): Promise<"created" | "updated"> {
    const errors = superuserInputErrors(email, password);
    if (errors) throw badRequest("Invalid superuser data.", errors);
    const collection = this.collections.get(SUPERUSERS) as AuthCollection;
    const hash = await hashPassword(password);
    return this.db.transaction(async (tx) => {
      const existing = await findRowBy(tx, collection, "email", email, true);
      const now = nowDateTime();
      if (existing) {
        await updateRow(tx, collection, String(existing.id), {
          password: hash,
          tokenKey: newTokenKey(),
          updated: now,
        });
        return "updated" as const;
      }
      await insertRow(tx, collection, {
        id: newRecordId(),
        email: email.toLowerCase(),
        password: hash,
        tokenKey: newTokenKey(),
        emailVisibility: false,
        verified: true,
        created: now,
        updated: now,
      });
      return "created" as const;
    });
  }

  /** Deletes a superuser by e-mail; returns false when there was none. */
  async deleteSuperuser(email: string): Promise<boolean> {
    const collection = this.collections.get(SUPERUSERS);
    const t = this.db.dialect.quoteIdent;
    const r = await this.db.run(
      `DELETE FROM ${t(collection.name)} WHERE ${this.db.dialect.equalsNoCase(t("email"), "?")} AND ${t("email")} != ''`,
      [email],
    );
    return r.changes > 0;
  }

  /** How many superusers exist. */
  async countSuperusers(): Promise<number> {
    const t = this.db.dialect.quoteIdent;
    const row = await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t(SUPERUSERS)}`);
    return Number(row?.n ?? 0);
  }
}

/** The field errors of a superuser e-mail/password pair, or null when both are acceptable. */
export function superuserInputErrors(email: string, password: string) {
  const errors: Record<string, ReturnType<typeof fieldError>> = {};
  if (!isValidEmail(email))
    errors.email = fieldError("validation_is_email", "Must be a valid email address.");
  if (password.length < 8) {
    errors.password = fieldError("validation_min_text_constraint", "Must be at least 8 character(s).", {
      min: 8,
    });
  } else if (password.length > 71) {
    errors.password = fieldError("validation_max_text_constraint", "Must be less than 72 character(s).", {
      max: 71,
    });
  }
  return Object.keys(errors).length ? errors : null;
}
