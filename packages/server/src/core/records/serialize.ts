import type { Collection } from "../collections/index.js";
import { type Field, isMultiValued } from "../fields/index.js";

/** A record as stored: column name → raw driver value. */
export type RecordRow = Record<string, unknown>;

/** A record as the API sends it. */
export type RecordJSON = Record<string, unknown> & {
  collectionId: string;
  collectionName: string;
  id: string;
};

function parseJsonValue(raw: unknown, fallback: unknown): unknown {
  if (raw === null || raw === undefined) return fallback;
  if (typeof raw !== "string") return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return fallback;
  }
}

/** Converts one stored column value to its API JSON value for the field's type. */
export function fieldValueToJSON(field: Field, raw: unknown): unknown {
  switch (field.type) {
    case "bool":
      return raw === true || raw === 1 || raw === "1" || raw === "true";
    case "number":
      return typeof raw === "number" ? raw : Number(raw ?? 0) || 0;
    case "json":
      return parseJsonValue(raw, null);
    case "geoPoint":
      return parseJsonValue(raw, { lon: 0, lat: 0 });
    case "select":
    case "relation":
    case "file":
      if (isMultiValued(field)) {
        const list = parseJsonValue(raw, []);
        return Array.isArray(list) ? list : [];
      }
      return raw === null || raw === undefined ? "" : String(raw);
    default:
      return raw === null || raw === undefined ? "" : String(raw);
  }
}

/** What a caller may see of a record beyond its public fields. */
export interface VisibilityOptions {
  /** Include hidden fields (superusers). Password hashes and token keys are never included. */
  showHidden?: boolean;
  /** Include `email` of an auth record whatever its `emailVisibility` (owner, superuser, manage rule). */
  showEmail?: boolean;
}

/** Field values that no API ever returns, whoever asks. */
export function isSecretField(collection: Collection, field: Field): boolean {
  return field.type === "password" || (collection.type === "auth" && field.name === "tokenKey");
}

/** Turns a stored row into the record JSON the API sends, leaving out what the caller may not see. */
export function serializeRecord(
  collection: Collection,
  row: RecordRow,
  opts: VisibilityOptions = {},
): RecordJSON {
  const out: Record<string, unknown> = { collectionId: collection.id, collectionName: collection.name };
  const isAuth = collection.type === "auth";
  const emailVisible =
    opts.showEmail || (isAuth && fieldValueToJSON({ type: "bool" } as Field, row.emailVisibility));
  for (const field of collection.fields) {
    if (isSecretField(collection, field)) continue;
    if (field.hidden && !opts.showHidden) continue;
    if (isAuth && field.name === "email" && !emailVisible && !opts.showHidden) continue;
    out[field.name] = fieldValueToJSON(field, row[field.name]);
  }
  return out as RecordJSON;
}
