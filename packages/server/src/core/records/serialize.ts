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

/** A collection's output keys in byte order, as PocketBase's JSON (a Go map) orders them; cached per definition. */
const ORDER = new WeakMap<Collection, readonly (Field | "collectionId" | "collectionName")[]>();

function outputOrder(collection: Collection): readonly (Field | "collectionId" | "collectionName")[] {
  let order = ORDER.get(collection);
  if (!order) {
    const keyOf = (k: Field | string) => (typeof k === "string" ? k : k.name);
    order = [...collection.fields, "collectionId" as const, "collectionName" as const].sort((a, b) =>
      keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0,
    );
    ORDER.set(collection, order);
  }
  return order;
}

/**
 * Turns a stored row into the record JSON the API sends, leaving out what the caller may not see. Keys come
 * in byte order, as PocketBase sends them.
 */
export function serializeRecord(
  collection: Collection,
  row: RecordRow,
  opts: VisibilityOptions = {},
): RecordJSON {
  const out: Record<string, unknown> = {};
  const isAuth = collection.type === "auth";
  const emailVisible =
    opts.showEmail || (isAuth && fieldValueToJSON({ type: "bool" } as Field, row.emailVisibility));
  for (const field of outputOrder(collection)) {
    if (field === "collectionId") out.collectionId = collection.id;
    else if (field === "collectionName") out.collectionName = collection.name;
    else if (isSecretField(collection, field)) continue;
    else if (field.hidden && !opts.showHidden) continue;
    else if (isAuth && field.name === "email" && !emailVisible && !opts.showHidden) continue;
    else out[field.name] = fieldValueToJSON(field, row[field.name]);
  }
  return out as RecordJSON;
}

/** Adds a key to a record JSON object at its byte-order position (keys after it are moved behind it). */
export function insertSorted(json: Record<string, unknown>, key: string, value: unknown): void {
  if (key in json) {
    json[key] = value;
    return;
  }
  const after = Object.keys(json).filter((k) => k > key);
  const moved = after.map((k) => [k, json[k]] as const);
  for (const k of after) delete json[k];
  json[key] = value;
  for (const [k, v] of moved) json[k] = v;
}
