import type { ColumnSpec, Dialect, Queryable, TableSpec } from "../../db/index.js";
import { type Field, fieldType } from "../fields/index.js";
import { makeField } from "./defaults.js";
import { parseIndex, toIndexSpec } from "./indexes.js";
import { AUTH_OPTION_KEYS, type Collection, type CollectionType, RULE_NAMES } from "./model.js";

/** The table that holds every collection definition. */
export const COLLECTIONS_TABLE = "_collections";
/** The key/value table for settings and internal state. */
export const PARAMS_TABLE = "_params";

/** The schema of `_collections`. */
export const COLLECTIONS_TABLE_SPEC: TableSpec = {
  name: COLLECTIONS_TABLE,
  columns: [
    { key: "id", name: "id", kind: "id" },
    { key: "system", name: "system", kind: "bool" },
    { key: "type", name: "type", kind: "text" },
    { key: "name", name: "name", kind: "text" },
    { key: "fields", name: "fields", kind: "jsonArray" },
    { key: "indexes", name: "indexes", kind: "jsonArray" },
    ...RULE_NAMES.map((r) => ({ key: r, name: r, kind: "nullableText" as const })),
    { key: "options", name: "options", kind: "json" },
    { key: "created", name: "created", kind: "text" },
    { key: "updated", name: "updated", kind: "text" },
  ],
  indexes: [{ name: "idx__collections_name", unique: true, columns: [{ name: "name" }] }],
};

/** The schema of `_params`. */
export const PARAMS_TABLE_SPEC: TableSpec = {
  name: PARAMS_TABLE,
  columns: [
    { key: "id", name: "id", kind: "id" },
    { key: "value", name: "value", kind: "json" },
    { key: "created", name: "created", kind: "text" },
    { key: "updated", name: "updated", kind: "text" },
  ],
  indexes: [],
};

interface CollectionRow {
  id: string;
  system: number | boolean;
  type: string;
  name: string;
  fields: string;
  indexes: string;
  listRule: string | null;
  viewRule: string | null;
  createRule: string | null;
  updateRule: string | null;
  deleteRule: string | null;
  options: string | null;
  created: string;
  updated: string;
}

function parseJson<T>(value: unknown, fallback: T): T {
  if (value === null || value === undefined) return fallback;
  if (typeof value !== "string") return value as T;
  return JSON.parse(value) as T;
}

/** Turns a `_collections` row into a Collection. */
export function rowToCollection(row: CollectionRow): Collection {
  const c: Collection = {
    id: row.id,
    listRule: row.listRule,
    viewRule: row.viewRule,
    createRule: row.createRule,
    updateRule: row.updateRule,
    deleteRule: row.deleteRule,
    name: row.name,
    type: row.type as CollectionType,
    fields: parseJson<Field[]>(row.fields, []),
    indexes: parseJson<string[]>(row.indexes, []),
    created: row.created,
    updated: row.updated,
    system: row.system === true || row.system === 1,
  };
  Object.assign(c, parseJson<Record<string, unknown>>(row.options, {}));
  return c;
}

/**
 * Replaces each OAuth2 client secret of an auth collection (in place) by `fn` of it (sealing at rest, issue
 * 18); returns whether any changed.
 */
export function mapOAuth2Secrets(c: Collection, fn: (value: string) => string): boolean {
  let changed = false;
  for (const p of c.oauth2?.providers ?? []) {
    if (typeof p.clientSecret !== "string") continue;
    const next = fn(p.clientSecret);
    if (next !== p.clientSecret) changed = true;
    p.clientSecret = next;
  }
  return changed;
}

function optionsOf(c: Collection): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (c.type === "view") out.viewQuery = c.viewQuery ?? "";
  if (c.type === "auth") for (const key of AUTH_OPTION_KEYS) out[key] = c[key];
  if (c.search) out.search = c.search;
  return out;
}

/** Inserts or replaces a collection's row; `seal` gives the stored form of each OAuth2 client secret. */
export async function saveCollectionRow(
  q: Queryable,
  collection: Collection,
  seal?: (secret: string) => string,
): Promise<void> {
  let c = collection;
  if (seal && c.oauth2?.providers.length) {
    c = structuredClone(c);
    mapOAuth2Secrets(c, seal);
  }
  const t = q.dialect.quoteIdent;
  const cols = [
    "id",
    "system",
    "type",
    "name",
    "fields",
    "indexes",
    ...RULE_NAMES,
    "options",
    "created",
    "updated",
  ];
  const values = [
    c.id,
    c.system,
    c.type,
    c.name,
    JSON.stringify(c.fields),
    JSON.stringify(c.indexes),
    ...RULE_NAMES.map((r) => c[r]),
    JSON.stringify(optionsOf(c)),
    c.created,
    c.updated,
  ];
  await q.run(`DELETE FROM ${t(COLLECTIONS_TABLE)} WHERE id = ?`, [c.id]);
  await q.run(
    `INSERT INTO ${t(COLLECTIONS_TABLE)} (${cols.map(t).join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`,
    values,
  );
}

/** Reads every collection row; `open` gives each stored OAuth2 client secret's value (else as stored). */
export async function loadCollectionRows(
  q: Queryable,
  open?: (stored: string) => string,
): Promise<Collection[]> {
  const rows = await q.all<CollectionRow>(
    `SELECT * FROM ${q.dialect.quoteIdent(COLLECTIONS_TABLE)} ORDER BY created, name`,
  );
  const list = rows.map(rowToCollection);
  if (open) for (const c of list) mapOAuth2Secrets(c, open);
  return list;
}

/** The table a base or auth collection stores its records in. */
export function collectionTableSpec(c: Collection, dialect: Dialect): TableSpec {
  const columns: ColumnSpec[] = c.fields.map((f) => ({
    key: f.id,
    name: f.name,
    kind: fieldType(f.type)!.columnKind(f),
  }));
  const indexes = c.indexes.map((text) => toIndexSpec(parseIndex(text)!, dialect));
  return { name: c.name, columns, indexes };
}

/** A source field whose values no API returns: password hashes and auth token keys. */
function isSecretSource(source: Collection, field: Field): boolean {
  return field.type === "password" || (source.type === "auth" && field.name === "tokenKey");
}

/**
 * The fields of a view collection, read from its query: a column taken straight from a collection's field
 * keeps that field's definition (so relations and files still work) and stays as hidden as it was there;
 * password hashes and token keys become hidden password fields (never returned), an auth collection's
 * e-mail becomes hidden; anything computed becomes a json field.
 */
export async function inferViewFields(
  q: Queryable,
  query: string,
  all: readonly Collection[],
): Promise<Field[]> {
  const columns = await q.describeQuery(query);
  const fields: Field[] = [];
  for (const col of columns) {
    const source = col.table ? all.find((c) => c.name === col.table) : undefined;
    const sourceField = source?.fields.find((f) => f.name === col.column);
    if (col.name === "id") {
      fields.push(
        makeField("text", "id", {
          system: true,
          primaryKey: true,
          required: true,
          pattern: "^[a-z0-9]+$",
        }),
      );
    } else if (sourceField && isSecretSource(source as Collection, sourceField)) {
      // a password hash or token key: a password field, which no API ever returns or lets filter
      fields.push(makeField("password", col.name, { hidden: true }));
    } else if (sourceField) {
      // the source's `hidden` is kept (as PocketBase does); an auth e-mail is hidden too, since the view
      // cannot apply its record's emailVisibility (issue 10)
      const hidden = sourceField.hidden === true || (source?.type === "auth" && sourceField.name === "email");
      const copy = { ...structuredClone(sourceField), name: col.name, system: false, hidden };
      copy.id = `${copy.type}${sourceField.id.replace(/^\D+/, "")}`;
      fields.push(copy);
    } else {
      fields.push(makeField("json", col.name));
    }
  }
  return fields;
}
