import type { SqlValue } from "../../db/index.js";
import type { ErrorData } from "../../errors/index.js";
import { FORBIDDEN_KEYS, randomString } from "../../util/index.js";
import type { Collection } from "../collections/index.js";
import type { Field } from "../fields/index.js";
import { BadValue, FIELD_VALUES, type Modifier } from "./field-values/index.js";
import { fieldValueToJSON, type RecordRow } from "./serialize.js";

/** A record being created or updated: its values in API form, submitted plain passwords, and shape errors. */
export interface RecordDraft {
  readonly collection: Collection;
  readonly isNew: boolean;
  /** The values as stored before this change (API form; password fields hold the hash). */
  readonly original: Readonly<Record<string, unknown>>;
  /** The values after this change. */
  readonly values: Record<string, unknown>;
  /** Newly submitted plain passwords by field name (hashed before the write). */
  readonly plainPasswords: Record<string, string>;
  /** Fields whose submitted value had an unusable shape. */
  readonly shapeErrors: ErrorData;
}

/** A stored row's values in API form (password fields keep their hash so a draft can be written back). */
export function rowToValues(collection: Collection, row: RecordRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of collection.fields) {
    out[f.name] = f.type === "password" ? String(row[f.name] ?? "") : fieldValueToJSON(f, row[f.name]);
  }
  return out;
}

/** A new record's default values (what an empty insert stores). */
export function defaultValues(collection: Collection): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of collection.fields) out[f.name] = fieldValueToJSON(f, undefined);
  return out;
}

/** A parsed autogenerate pattern: literal text, or so many characters drawn from an alphabet. */
type PatternPart = string | { readonly length: number; readonly alphabet: string };

/** Parsed patterns by their text (a collection's few patterns; bounded in case of many collections). */
const parsedPatterns = new Map<string, readonly PatternPart[]>();

function parsePattern(pattern: string): readonly PatternPart[] {
  const parts: PatternPart[] = [];
  const re = /\[([^\]]+)\]\{(\d+)\}|([^[\\]+)/g;
  for (const m of pattern.matchAll(re)) {
    if (m[3]) {
      parts.push(m[3].replace(/[\^$]/g, ""));
      continue;
    }
    let alphabet = "";
    for (const part of m[1].matchAll(/(.)-(.)|(.)/g)) {
      if (part[3]) alphabet += part[3];
      else
        for (let c = part[1].charCodeAt(0); c <= part[2].charCodeAt(0); c++)
          alphabet += String.fromCharCode(c);
    }
    parts.push({ length: Number(m[2]), alphabet: alphabet || "abcdefghijklmnopqrstuvwxyz0123456789" });
  }
  return parts;
}

/**
 * Generates a value for simple autogenerate patterns (`[a-z0-9]{15}`, with literal prefixes). Each pattern
 * is parsed once (issue 19: parsing it on every create was a few percent of a create's CPU).
 */
export function generateFromPattern(pattern: string): string {
  let parts = parsedPatterns.get(pattern);
  if (!parts) {
    parts = parsePattern(pattern);
    if (parsedPatterns.size >= 1000) parsedPatterns.clear();
    parsedPatterns.set(pattern, parts);
  }
  let out = "";
  for (const part of parts) out += typeof part === "string" ? part : randomString(part.length, part.alphabet);
  return out;
}

const MODIFIER_KEYS: readonly [Modifier, (name: string) => string][] = [
  ["prepend", (n) => `+${n}`],
  ["append", (n) => `${n}+`],
  ["subtract", (n) => `${n}-`],
];

/**
 * The submitted body as the rules and the record see it (PocketBase's ReplaceModifiers): modifier keys
 * (`field+`, `+field`, `field-`, `field:autogenerate`) are resolved against the current values into plain
 * keys; prototype keys are dropped; hidden fields are dropped for non-superusers (the auth `password`
 * excepted). Unknown keys stay (rules may read them) but never reach the record.
 */
export function resolveBody(
  collection: Collection,
  body: Record<string, unknown>,
  current: Record<string, unknown>,
  isSuperuser: boolean,
): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const k of Object.keys(body)) if (!FORBIDDEN_KEYS.has(k)) data[k] = body[k];
  for (const field of collection.fields) {
    const name = field.name;
    const values = FIELD_VALUES[field.type];
    const auto = `${name}:autogenerate`;
    if (field.type === "text" && Object.hasOwn(data, auto)) {
      const prefix = values.prepare(data[auto], field);
      const pattern = String(field.autogeneratePattern ?? "");
      data[name] =
        `${typeof prefix === "string" ? prefix : ""}${pattern ? generateFromPattern(pattern) : ""}`;
      delete data[auto];
    }
    if (!values.modify || !MODIFIER_KEYS.some(([, key]) => Object.hasOwn(data, key(name)))) continue;
    let value = Object.hasOwn(data, name) ? values.prepare(data[name], field) : current[name];
    for (const [modifier, key] of MODIFIER_KEYS) {
      if (!Object.hasOwn(data, key(name)) || value instanceof BadValue) continue;
      const next = values.modify(value, modifier, data[key(name)], field);
      if (next === undefined) continue;
      value = next;
      delete data[key(name)];
    }
    data[name] = value instanceof BadValue ? data[name] : value;
  }
  if (!isSuperuser) {
    for (const field of collection.fields) {
      if (field.hidden && !(collection.type === "auth" && field.name === "password")) delete data[field.name];
    }
  }
  return data;
}

/**
 * The body as access rules see it (`@request.body.*`, `:changed`, `:isset`): each field's value run
 * through that field's own parsing, so a rule compares the value the record will store (issue 10: `"TRUE"`
 * for a bool is `true`, `"5"` for a number is `5`). Values the field cannot parse stay as sent (the write
 * fails validation anyway); file uploads and keys that name no field stay as sent.
 */
export function typedBody(collection: Collection, data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...data };
  for (const field of collection.fields) {
    if (!Object.hasOwn(data, field.name) || field.type === "file") continue;
    const prepared = FIELD_VALUES[field.type].prepare(data[field.name], field);
    if (!(prepared instanceof BadValue)) out[field.name] = prepared;
  }
  return out;
}

/** Starts a draft from current values and applies the resolved body to the collection's known fields. */
export function applyData(
  collection: Collection,
  original: Record<string, unknown>,
  isNew: boolean,
  data: Record<string, unknown>,
): RecordDraft {
  const draft: RecordDraft = {
    collection,
    isNew,
    original,
    values: { ...original },
    plainPasswords: {},
    shapeErrors: {},
  };
  for (const field of collection.fields) {
    if (!Object.hasOwn(data, field.name) || field.type === "autodate") continue;
    const prepared = FIELD_VALUES[field.type].prepare(data[field.name], field);
    if (prepared instanceof BadValue) {
      draft.shapeErrors[field.name] = prepared.error;
      continue;
    }
    if (field.type === "password") {
      if (prepared !== "") draft.plainPasswords[field.name] = prepared as string;
      continue;
    }
    draft.values[field.name] = prepared;
  }
  return draft;
}

/** The driver values of a draft's fields (all of them, or only `names`). */
export function draftToRow(draft: RecordDraft, names?: readonly string[]): Record<string, SqlValue> {
  const out: Record<string, SqlValue> = {};
  for (const field of draft.collection.fields) {
    if (names && !names.includes(field.name)) continue;
    out[field.name] = FIELD_VALUES[field.type].toDb(draft.values[field.name], field);
  }
  return out;
}

/** The names of fields whose value differs from the original. */
export function changedFields(draft: RecordDraft): string[] {
  const out: string[] = [];
  for (const f of draft.collection.fields) {
    if (!sameValue(f, draft.values[f.name], draft.original[f.name])) out.push(f.name);
  }
  return out;
}

function sameValue(_field: Field, a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}
