import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Logger } from "pino";
import {
  type AuthCollection,
  type CollectionsService,
  isAuthCollection,
  SUPERUSERS_ID,
} from "../core/collections/index.js";
import { API_KEY_ACTIONS, type ApiKeyAction, type ApiKeyScope, findRow } from "../core/records/index.js";
import { type Database, syncTable, type TableSpec } from "../db/index.js";
import { ApiError, badRequest, type ErrorData, fieldError } from "../errors/index.js";
import { formatDateTime, isPlainObject, nowDateTime, parseDateTime, randomString } from "../util/index.js";
import type { RequestAuth } from "./auth-service.js";

/** The table of API keys: the secret is kept as its SHA-256 only. */
export const API_KEYS_TABLE = "_api_keys";

const SPEC: TableSpec = {
  name: API_KEYS_TABLE,
  columns: [
    { key: "id", name: "id", kind: "id" },
    { key: "name", name: "name", kind: "text" },
    { key: "collection", name: "collection", kind: "text" },
    { key: "record", name: "record", kind: "text" },
    { key: "scope", name: "scope", kind: "text" },
    { key: "hash", name: "hash", kind: "text" },
    { key: "expires", name: "expires", kind: "text" },
    { key: "revoked", name: "revoked", kind: "text" },
    { key: "last_used", name: "last_used", kind: "text" },
    { key: "created", name: "created", kind: "text" },
    { key: "updated", name: "updated", kind: "text" },
  ],
  indexes: [],
};

/** Keys start with this, so a log line or a leaked string is recognisable and the auth hook can tell them. */
export const API_KEY_PREFIX = "bsk_";
const KEY_RE = /^bsk_([a-z0-9]{15})_([A-Za-z0-9_-]{43})$/;
/** Last use is written at most this often per key and instance (not on every request). */
const LAST_USED_EVERY_MS = 60_000;
const MAX_SCOPE_COLLECTIONS = 100;

/** An API key as the API shows it: never its secret or hash. */
export interface ApiKey {
  id: string;
  name: string;
  /** The auth collection (id) of the record the key acts as. */
  collectionId: string;
  collectionName: string;
  /** The record the key acts as. */
  recordId: string;
  /** Collection name → allowed actions; null: every action the record's rules allow. */
  scope: Record<string, ApiKeyAction[]> | null;
  /** When it stops working ("" never). */
  expires: string;
  /** When it was revoked ("" not revoked). */
  revoked: string;
  /** Last use, to the minute ("" never used). */
  lastUsed: string;
  created: string;
  updated: string;
}

interface Row {
  id: string;
  name: string;
  collection: string;
  record: string;
  scope: string;
  hash: string;
  expires: string;
  revoked: string;
  last_used: string;
  created: string;
  updated: string;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest();

function parseScope(text: string): ApiKeyScope | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as unknown;
    return isPlainObject(v) ? (v as ApiKeyScope) : null;
  } catch {
    return null;
  }
}

function refused(): ApiError {
  return new ApiError(401, "The API key is invalid, expired or revoked.");
}

/**
 * API keys (issue 18, beyond PocketBase): superusers make keys that act as a chosen auth record, so every
 * access rule applies unchanged, optionally narrowed to a scope of collections × actions, with an optional
 * expiry. A key is `bsk_<id>_<secret>`: shown once, stored as the SHA-256 of its 256-bit secret, looked up by
 * id on every request (one primary-key read: a revocation holds on every instance at once, no cache to
 * invalidate). A key never acts as a superuser.
 */
export class ApiKeysService {
  private readonly lastWritten = new Map<string, number>();

  constructor(
    private readonly db: Database,
    private readonly collections: CollectionsService,
    private readonly log: Logger,
  ) {}

  /** Creates the table on a database that lacks it, once across instances starting together. */
  async init(): Promise<void> {
    if (await this.db.tableExists(API_KEYS_TABLE)) return;
    await this.db.lockedTransaction("api-keys-bootstrap", async (tx) => {
      if (!(await tx.tableExists(API_KEYS_TABLE))) await syncTable(tx, null, SPEC);
    });
  }

  /** Whether an Authorization value is an API key (then only `authenticate` may answer for it). */
  static isKey(token: string): boolean {
    return token.startsWith(API_KEY_PREFIX);
  }

  /**
   * The auth of a request sent with a key; throws 401 for a malformed, unknown, revoked or expired key, or
   * one whose record is gone. Records the last use at most once a minute per key on this instance.
   */
  async authenticate(token: string): Promise<RequestAuth> {
    const m = KEY_RE.exec(token);
    if (!m) throw refused();
    const row = await this.db.get<Row>(`SELECT * FROM ${API_KEYS_TABLE} WHERE id = ?`, [m[1]]);
    // the hash is compared even for an unknown id, so timing does not tell which ids exist
    const expected = row ? Buffer.from(row.hash, "hex") : sha256("");
    const given = sha256(m[2]);
    const matches = expected.length === given.length && timingSafeEqual(expected, given);
    if (!row || !matches || row.revoked) throw refused();
    const expires = row.expires ? parseDateTime(row.expires) : null;
    if (expires && expires.getTime() <= Date.now()) throw refused();
    const collection = this.collections.find(row.collection);
    if (!collection || !isAuthCollection(collection) || collection.id === SUPERUSERS_ID) throw refused();
    const record = await findRow(this.db, collection, row.record);
    if (!record) throw refused();
    this.touch(row.id);
    return {
      collection,
      record,
      claims: {
        id: String(record.id),
        type: "auth",
        collectionId: collection.id,
        exp: expires ? Math.floor(expires.getTime() / 1000) : Number.MAX_SAFE_INTEGER,
        refreshable: false,
      },
      isSuperuser: false,
      apiKey: { id: row.id, scope: parseScope(row.scope) },
    };
  }

  private touch(id: string): void {
    const now = Date.now();
    if (now - (this.lastWritten.get(id) ?? 0) < LAST_USED_EVERY_MS) return;
    this.lastWritten.set(id, now);
    if (this.lastWritten.size > 10_000) this.lastWritten.clear();
    this.db
      .run(`UPDATE ${API_KEYS_TABLE} SET last_used = ? WHERE id = ?`, [nowDateTime(), id])
      .catch((err: unknown) => this.log.warn({ err, apiKey: id }, "recording an API key's last use failed"));
  }

  private toKey(r: Row): ApiKey {
    const scope = parseScope(r.scope);
    const collection = this.collections.find(r.collection);
    return {
      id: r.id,
      name: r.name,
      collectionId: r.collection,
      collectionName: collection?.name ?? "",
      recordId: r.record,
      scope: scope
        ? Object.fromEntries(
            Object.entries(scope).map(([id, actions]) => [
              this.collections.find(id)?.name ?? id,
              [...actions],
            ]),
          )
        : null,
      expires: r.expires,
      revoked: r.revoked,
      lastUsed: r.last_used,
      created: r.created,
      updated: r.updated,
    };
  }

  /** Every key, newest first. */
  async list(): Promise<ApiKey[]> {
    const rows = await this.db.all<Row>(`SELECT * FROM ${API_KEYS_TABLE} ORDER BY created DESC, id`);
    return rows.map((r) => this.toKey(r));
  }

  /** One key, or undefined. */
  async get(id: string): Promise<ApiKey | undefined> {
    const row = await this.db.get<Row>(`SELECT * FROM ${API_KEYS_TABLE} WHERE id = ?`, [id]);
    return row && this.toKey(row);
  }

  /**
   * Makes a key from `{name, collection, record, scope?, expires?}` (400 with field errors on bad input) and
   * returns it with its secret, `key`, which is never shown again.
   */
  async create(body: Record<string, unknown>): Promise<ApiKey & { key: string }> {
    const errors: ErrorData = {};
    const name = typeof body.name === "string" ? body.name.trim() : "";
    if (!name || name.length > 200)
      errors.name = fieldError("validation_required", "A name of at most 200 characters is required.");
    let collection: AuthCollection | undefined;
    const c = typeof body.collection === "string" ? this.collections.find(body.collection) : undefined;
    if (!c || !isAuthCollection(c)) {
      errors.collection = fieldError("validation_invalid_value", "Must be an auth collection.");
    } else if (c.id === SUPERUSERS_ID) {
      errors.collection = fieldError(
        "validation_invalid_value",
        "API keys cannot act as superusers; bind the key to a record of another auth collection.",
      );
    } else collection = c;
    const recordId = typeof body.record === "string" ? body.record : "";
    if (collection && (!recordId || !(await findRow(this.db, collection, recordId)))) {
      errors.record = fieldError("validation_invalid_value", "Must be the id of a record of the collection.");
    }
    const scope = this.readScope(body.scope, errors);
    let expires = "";
    if (body.expires !== undefined && body.expires !== null && body.expires !== "") {
      const when = typeof body.expires === "string" ? parseDateTime(body.expires) : null;
      if (!when || when.getTime() <= Date.now())
        errors.expires = fieldError("validation_invalid_value", "Must be a date and time in the future.");
      else expires = formatDateTime(when);
    }
    if (Object.keys(errors).length) throw badRequest("Failed to create the API key.", errors);
    const id = randomString(15);
    const secret = randomBytes(32).toString("base64url");
    const now = nowDateTime();
    await this.db.run(
      `INSERT INTO ${API_KEYS_TABLE} (id, name, collection, record, scope, hash, expires, revoked, last_used, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, '', '', ?, ?)`,
      [
        id,
        name,
        collection!.id,
        recordId,
        scope ? JSON.stringify(scope) : "",
        sha256(secret).toString("hex"),
        expires,
        now,
        now,
      ],
    );
    const made = await this.get(id);
    return { ...made!, key: `${API_KEY_PREFIX}${id}_${secret}` };
  }

  private readScope(v: unknown, errors: ErrorData): ApiKeyScope | null {
    if (v === undefined || v === null) return null;
    const bad = (message: string) => {
      errors.scope = fieldError("validation_invalid_value", message);
      return null;
    };
    if (!isPlainObject(v) || Object.keys(v).length > MAX_SCOPE_COLLECTIONS)
      return bad(
        `Must be an object of at most ${MAX_SCOPE_COLLECTIONS} collections, each with a list of actions.`,
      );
    const scope: Record<string, ApiKeyAction[]> = {};
    for (const [name, actions] of Object.entries(v)) {
      const c = this.collections.find(name);
      if (!c) return bad(`Unknown collection "${name.slice(0, 100)}".`);
      if (
        !Array.isArray(actions) ||
        actions.length === 0 ||
        !actions.every((a) => (API_KEY_ACTIONS as readonly unknown[]).includes(a))
      )
        return bad(`The actions of "${c.name}" must be a non-empty list of ${API_KEY_ACTIONS.join(", ")}.`);
      scope[c.id] = [...new Set(actions as ApiKeyAction[])];
    }
    return scope;
  }

  /** Revokes a key (it stays listed, with `revoked` set); false when it does not exist. */
  async revoke(id: string): Promise<boolean> {
    const now = nowDateTime();
    const { changes } = await this.db.run(
      `UPDATE ${API_KEYS_TABLE} SET revoked = CASE WHEN revoked = '' THEN ? ELSE revoked END, updated = ? WHERE id = ?`,
      [now, now, id],
    );
    return changes > 0;
  }

  /** Deletes a key; false when it does not exist. */
  async delete(id: string): Promise<boolean> {
    const { changes } = await this.db.run(`DELETE FROM ${API_KEYS_TABLE} WHERE id = ?`, [id]);
    return changes > 0;
  }
}
