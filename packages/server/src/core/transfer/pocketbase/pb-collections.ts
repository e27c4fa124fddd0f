import { BasaltError, type ErrorData } from "../../../errors/index.js";
import { isPlainObject } from "../../../util/index.js";
import {
  authIndexes,
  type Collection,
  type CollectionType,
  checkRule,
  formatIndex,
  initialCollections,
  makeField,
  newCollection,
  parseIndex,
  SUPERUSERS,
  validateCollection,
} from "../../collections/index.js";
import { applyCollectionInput } from "../../collections/normalize.js";
import type { Field } from "../../fields/index.js";
import type { PbSource } from "./pb-source.js";

/**
 * A Basalt collection to create, and where its records come from: the source table (none for a collection
 * PocketBase did not have), source columns under other names, and values the source has no column for.
 */
export interface PlannedCollection {
  collection: Collection;
  table: string | null;
  renames: Record<string, string>;
  constants: Record<string, unknown>;
}

/** PocketBase's system base collections, which Basalt defines the same way (same ids, fields and rules). */
const SYSTEM_BASE = ["_mfas", "_otps", "_externalAuths", "_authOrigins"];

function collectionError(name: string, detail: string): never {
  throw new BasaltError("BASALT_ERR_PB_IMPORT_COLLECTION", `${name}: ${detail}`);
}

function parseJson(raw: unknown, fallback: unknown): unknown {
  if (typeof raw !== "string") return raw ?? fallback;
  try {
    return JSON.parse(raw);
  } catch {
    return fallback;
  }
}

const int = (v: unknown): number => (Number.isFinite(Number(v)) && v !== null ? Math.trunc(Number(v)) : 0);
const numOrNull = (v: unknown): number | null =>
  v === null || v === undefined || v === "" || !Number.isFinite(Number(v)) ? null : Number(v);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x) => typeof x === "string") : []);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** PocketBase before 0.23 called the request body `@request.data` in rules; 0.23 (and Basalt) `@request.body`. */
function legacyRule(rule: unknown): string | null {
  return typeof rule === "string" ? rule.replaceAll("@request.data", "@request.body") : null;
}

/** A 0.22 `schema` entry (options nested under `options`) as a 0.23 field (options flat, some renamed). */
function legacyField(collection: string, raw: unknown): Record<string, unknown> {
  if (!isPlainObject(raw)) return collectionError(collection, "a schema entry is not an object");
  const o = isPlainObject(raw.options) ? raw.options : {};
  const type = str(raw.type);
  const base = {
    id: str(raw.id),
    name: str(raw.name),
    type,
    system: raw.system === true,
    required: raw.required === true,
    presentable: raw.presentable === true,
    hidden: false,
  };
  switch (type) {
    case "bool":
      return base;
    case "number":
      return { ...base, onlyInt: o.noDecimal === true, min: numOrNull(o.min), max: numOrNull(o.max) };
    case "text":
      return { ...base, min: int(o.min), max: int(o.max), pattern: str(o.pattern) };
    case "email":
    case "url":
      return { ...base, exceptDomains: strs(o.exceptDomains), onlyDomains: strs(o.onlyDomains) };
    case "editor":
      return { ...base, convertURLs: o.convertUrls === true };
    case "date":
      return { ...base, min: str(o.min), max: str(o.max) };
    case "select":
      return { ...base, values: strs(o.values), maxSelect: Math.max(1, int(o.maxSelect)) };
    case "json":
      return { ...base, maxSize: int(o.maxSize) };
    case "relation": {
      // 0.22 left maxSelect empty for "no limit"; 0.23 writes the largest 32-bit number
      const max = int(o.maxSelect);
      return {
        ...base,
        collectionId: str(o.collectionId),
        cascadeDelete: o.cascadeDelete === true,
        minSelect: int(o.minSelect),
        maxSelect: max > 0 ? max : 2147483647,
      };
    }
    case "file":
      return {
        ...base,
        maxSelect: Math.max(1, int(o.maxSelect)),
        maxSize: int(o.maxSize),
        thumbs: strs(o.thumbs),
        mimeTypes: strs(o.mimeTypes),
        protected: o.protected === true,
      };
    default:
      return collectionError(
        collection,
        `the field ${JSON.stringify(base.name)} has the unknown type ${type}`,
      );
  }
}

interface PbRow {
  id: string;
  type: string;
  name: string;
  system: unknown;
  fields?: unknown;
  schema?: unknown;
  indexes: unknown;
  options: unknown;
  listRule: string | null;
  viewRule: string | null;
  createRule: string | null;
  updateRule: string | null;
  deleteRule: string | null;
  created: string;
  updated: string;
}

/** The create-collection input a 0.22 `_collections` row amounts to in 0.23's shape. */
function legacyInput(
  src: PbSource,
  row: PbRow,
  providers: readonly Record<string, unknown>[],
): Record<string, unknown> {
  const options = parseJson(row.options, {});
  const o = isPlainObject(options) ? options : {};
  const schema = parseJson(row.schema, []);
  if (!Array.isArray(schema)) return collectionError(row.name, "its schema is not a list");
  const fields: unknown[] = [
    makeField("text", "id", {
      system: true,
      primaryKey: true,
      required: true,
      min: 15,
      max: 15,
      pattern: "^[a-z0-9]+$",
      autogeneratePattern: "[a-z0-9]{15}",
    }),
  ];
  const input: Record<string, unknown> = {
    listRule: legacyRule(row.listRule),
    viewRule: legacyRule(row.viewRule),
    createRule: legacyRule(row.createRule),
    updateRule: legacyRule(row.updateRule),
    deleteRule: legacyRule(row.deleteRule),
  };
  let indexes = strs(parseJson(row.indexes, []));
  if (row.type === "auth") {
    // 0.22 kept the auth columns out of the schema; 0.23 lists them as system fields, username as a plain one
    fields.push(
      makeField("password", "password", {
        system: true,
        hidden: true,
        required: true,
        min: Math.max(0, Math.min(71, int(o.minPasswordLength))),
      }),
      makeField("text", "tokenKey", {
        system: true,
        hidden: true,
        required: true,
        min: 30,
        max: 60,
        autogeneratePattern: "[a-zA-Z0-9]{50}",
      }),
      makeField("email", "email", {
        system: true,
        required: true,
        exceptDomains: strs(o.exceptEmailDomains),
        onlyDomains: strs(o.onlyEmailDomains),
      }),
      makeField("bool", "emailVisibility", { system: true }),
      makeField("bool", "verified", { system: true }),
      makeField("text", "username", {
        required: true,
        min: 3,
        max: 150,
        pattern: String.raw`^[\w][\w\.\-]*$`,
        autogeneratePattern: "users[0-9]{6}",
      }),
    );
    const identityFields = [
      ...(o.allowEmailAuth === true ? ["email"] : []),
      ...(o.allowUsernameAuth === true ? ["username"] : []),
    ];
    const manageRule = typeof o.manageRule === "string" && o.manageRule ? legacyRule(o.manageRule) : null;
    Object.assign(input, {
      authRule: o.onlyVerified === true ? "verified = true" : "",
      manageRule,
      passwordAuth: { enabled: identityFields.length > 0, identityFields },
      // 0.22 kept the providers in the settings, for every auth collection that allowed OAuth2
      oauth2: {
        enabled: o.allowOAuth2Auth === true && providers.length > 0,
        providers: o.allowOAuth2Auth === true ? structuredClone(providers) : [],
        mappedFields: { id: "", name: "", username: "username", avatarURL: "" },
      },
    });
    indexes = [
      `CREATE UNIQUE INDEX \`idx_username_${row.id}\` ON \`${row.name}\` (\`username\` COLLATE NOCASE)`,
      ...authIndexes(row.id, row.name),
      ...indexes,
    ];
  }
  fields.push(...schema.map((f) => legacyField(row.name, f)));
  if (row.type === "view") {
    input.viewQuery = str(o.query);
    // a view has created/updated fields only when its query selects such columns
    const columns = src.columns(row.name);
    if (columns.has("created")) fields.push(makeField("autodate", "created", { onCreate: true }));
    if (columns.has("updated"))
      fields.push(makeField("autodate", "updated", { onCreate: true, onUpdate: true }));
  } else {
    fields.push(
      makeField("autodate", "created", { onCreate: true }),
      makeField("autodate", "updated", { onCreate: true, onUpdate: true }),
    );
  }
  input.fields = fields;
  input.indexes = indexes;
  return input;
}

/** The create-collection input of a 0.23+ `_collections` row: its JSON as the API would send it. */
function currentInput(row: PbRow): Record<string, unknown> {
  const options = parseJson(row.options, {});
  const fields = parseJson(row.fields, []);
  if (!Array.isArray(fields)) return collectionError(row.name, "its fields are not a list");
  let indexes = strs(parseJson(row.indexes, []));
  if (row.type === "auth") {
    // Basalt's own unique e-mail index ignores case (sign-in does); it replaces PocketBase's
    const own = authIndexes(row.id, row.name);
    indexes = [
      ...own,
      ...indexes.filter((text) => {
        const idx = parseIndex(text);
        const single = idx?.unique && idx.columns.length === 1 ? idx.columns[0].name : "";
        return single !== "email" && single !== "tokenKey";
      }),
    ];
  }
  return {
    ...(isPlainObject(options) ? options : {}),
    listRule: row.listRule,
    viewRule: row.viewRule,
    createRule: row.createRule,
    updateRule: row.updateRule,
    deleteRule: row.deleteRule,
    fields,
    indexes,
  };
}

/**
 * Reads a PocketBase database's collections and turns them into Basalt's (0.22's `schema` and `options`
 * mapped to 0.23's shape as PocketBase's own upgrade does), each with where its records come from. Every
 * user collection is checked as the API would check it (fields, indexes, rules); the first problem stops the
 * import before anything is written.
 */
export function planCollections(
  src: PbSource,
  legacyProviders: readonly Record<string, unknown>[] = [],
): PlannedCollection[] {
  const rows = src.db.prepare(`SELECT * FROM "_collections" ORDER BY rowid`).all() as PbRow[];
  const system = new Map(initialCollections().map((c) => [c.name, c]));
  const plans: PlannedCollection[] = [];
  const legacy = src.layout === "0.22";
  for (const name of SYSTEM_BASE) {
    const c = system.get(name)!;
    const fromPb = rows.find((r) => r.name === name);
    if (fromPb) Object.assign(c, { created: fromPb.created, updated: fromPb.updated });
    plans.push(
      legacy && name === "_externalAuths"
        ? {
            collection: c,
            table: src.hasTable(name) ? name : null,
            renames: { collectionRef: "collectionId", recordRef: "recordId" },
            constants: {},
          }
        : { collection: c, table: !legacy && src.hasTable(name) ? name : null, renames: {}, constants: {} },
    );
  }
  // superusers: 0.22's `_admins` table, or 0.23's `_superusers` collection (its token settings kept)
  const superusers = system.get(SUPERUSERS)!;
  const pbSuperusers = rows.find((r) => r.name === SUPERUSERS);
  if (pbSuperusers) {
    const options = parseJson(pbSuperusers.options, {});
    const { collection, errors } = applyCollectionInput(
      superusers,
      isPlainObject(options) ? options : {},
      false,
    );
    if (Object.keys(errors).length) reportErrors(SUPERUSERS, errors);
    Object.assign(collection, { created: pbSuperusers.created, updated: pbSuperusers.updated });
    plans.push({ collection, table: SUPERUSERS, renames: {}, constants: {} });
  } else {
    plans.push({
      collection: superusers,
      table: src.hasTable("_admins") ? "_admins" : null,
      renames: { password: "passwordHash" },
      constants: { verified: true, emailVisibility: false },
    });
  }

  const user: PlannedCollection[] = [];
  for (const row of rows) {
    if (SYSTEM_BASE.includes(row.name) || row.name === SUPERUSERS) continue;
    if (!["base", "auth", "view"].includes(row.type))
      collectionError(row.name, `the collection type ${row.type} is unknown`);
    const type = row.type as CollectionType;
    const input = legacy ? legacyInput(src, row, legacyProviders) : currentInput(row);
    const { collection, errors } = applyCollectionInput(newCollection(type, row.name, row.id), input, true);
    if (Object.keys(errors).length) reportErrors(row.name, errors);
    collection.system = row.system === 1 || row.system === true;
    collection.created = row.created;
    collection.updated = row.updated;
    collection.indexes = collection.indexes.map((text) => {
      const idx = parseIndex(text);
      return idx ? formatIndex(idx, collection.name) : text;
    });
    user.push({
      collection,
      table: type === "view" ? null : row.name,
      renames: legacy && type === "auth" ? { password: "passwordHash" } : {},
      constants: {},
    });
  }
  const all = [...plans, ...user].map((p) => p.collection);
  for (const { collection } of user) {
    if (collection.type === "view") continue; // a view's query is checked when the target creates it
    const errors = validateCollection(collection, { previous: undefined, all, checkRule });
    if (Object.keys(errors).length) reportErrors(collection.name, errors);
  }
  return [...plans, ...user];
}

/** Flattens field errors (`fields.2.maxSelect: …`) into the one-line import error. */
function reportErrors(name: string, errors: ErrorData): never {
  const lines: string[] = [];
  const walk = (data: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(data)) {
      if (isPlainObject(value) && typeof value.message === "string")
        lines.push(`${prefix}${key}: ${value.message}`);
      else if (isPlainObject(value)) walk(value, `${prefix}${key}.`);
    }
  };
  walk(errors as Record<string, unknown>, "");
  return collectionError(name, `Basalt cannot take it as it is (${lines.join("; ")})`);
}

/** The field names of a planned collection whose values are file names. */
export function fileFields(c: Collection): Field[] {
  return c.fields.filter((f) => f.type === "file");
}
