import { type ErrorData, type FieldError, fieldError } from "../../errors/index.js";
import { isPlainObject, safeKeys } from "../../util/index.js";
import { type Field, type FieldTypeName, fieldType, type OptionKind } from "../fields/index.js";
import { authSystemFields, defaultAuthOptions, defaultFieldId, idField } from "./defaults.js";
import { AUTH_OPTION_KEYS, type Collection, RULE_NAMES } from "./model.js";
import { carrySearchFields, readSearchInput } from "./search.js";

const invalidType = (expected: string): FieldError =>
  fieldError("validation_invalid_type", `Must be ${expected}.`, { expected });

function coerceOption(
  kind: OptionKind,
  value: unknown,
): { ok: true; value: unknown } | { ok: false; error: FieldError } {
  switch (kind) {
    case "int":
      if (typeof value === "number" && Number.isFinite(value)) return { ok: true, value };
      return { ok: false, error: invalidType("a number") };
    case "number":
      if (typeof value === "number" && Number.isFinite(value)) return { ok: true, value };
      return { ok: false, error: invalidType("a number") };
    case "numberOrNull":
      if (value === null || (typeof value === "number" && Number.isFinite(value))) return { ok: true, value };
      return { ok: false, error: invalidType("a number or null") };
    case "string":
      if (typeof value === "string") return { ok: true, value };
      return { ok: false, error: invalidType("a string") };
    case "date":
      if (typeof value === "string") return { ok: true, value };
      return { ok: false, error: invalidType("a date string") };
    case "bool":
      if (typeof value === "boolean") return { ok: true, value };
      return { ok: false, error: invalidType("a boolean") };
    case "strings":
    case "stringsOrNull":
      if (value === null) return kind === "stringsOrNull" ? { ok: true, value } : { ok: true, value: [] };
      if (Array.isArray(value) && value.every((v) => typeof v === "string"))
        return { ok: true, value: [...value] };
      return { ok: false, error: invalidType("a list of strings") };
  }
}

/** Reads one field definition from input; `existing` are the collection's fields before this change. */
function readField(
  input: unknown,
  existing: readonly Field[],
  taken: Set<string>,
): { field?: Field; errors?: ErrorData } {
  if (!isPlainObject(input)) return { errors: { type: invalidType("a field object") } };
  const type = input.type;
  const def = typeof type === "string" ? fieldType(type) : undefined;
  if (!def) {
    return {
      errors: { type: fieldError("validation_invalid_field_type", "Missing or unknown field type.") },
    };
  }
  const errors: ErrorData = {};
  const name = typeof input.name === "string" ? input.name : "";
  if (input.name !== undefined && typeof input.name !== "string") errors.name = invalidType("a string");
  let id = typeof input.id === "string" ? input.id : "";
  if (input.id !== undefined && typeof input.id !== "string") errors.id = invalidType("a string");
  if (!id) {
    // PocketBase keeps the id of an existing field with the same name, so a re-sent definition does not
    // drop and re-create the column (and a changed type is reported instead of silently replacing it).
    const same = existing.find((f) => f.name === name);
    id = same?.id ?? defaultFieldId(def.type, name);
    if (!same && taken.has(id)) {
      let n = 2;
      while (taken.has(`${id}${n}`) && n < 1000) n++;
      id = `${id}${n}`;
    }
  }
  taken.add(id);
  const field: Field = {
    id,
    name,
    type: def.type as FieldTypeName,
    system: false,
    hidden: false,
    presentable: false,
  };
  for (const key of ["system", "hidden", "presentable"] as const) {
    if (input[key] === undefined) continue;
    if (typeof input[key] === "boolean") field[key] = input[key];
    else errors[key] = invalidType("a boolean");
  }
  for (const [key, opt] of Object.entries(def.options)) {
    if (input[key] === undefined) {
      field[key] = structuredClone(opt.default);
      continue;
    }
    const r = coerceOption(opt.kind, input[key]);
    if (r.ok) field[key] = r.value;
    else errors[key] = r.error;
  }
  return Object.keys(errors).length ? { field, errors } : { field };
}

/** Re-applies the flags system fields must have and adds the missing ones, as PocketBase does on save. */
export function enforceSystemFields(c: Collection): void {
  if (c.type === "view") return;
  const required: Field[] = [idField(), ...(c.type === "auth" ? authSystemFields() : [])];
  for (const [i, def] of required.entries()) {
    const current = c.fields.find((f) => f.name === def.name);
    if (!current) {
      // keep PocketBase's order: id first, then the auth fields
      c.fields.splice(Math.min(i, c.fields.length), 0, def);
      continue;
    }
    if (current.type !== def.type) continue; // reported by validation
    current.system = true;
    if (def.name === "id") {
      current.primaryKey = true;
      current.required = true;
      current.hidden = false;
      if (!current.pattern) current.pattern = "^[a-z0-9]+$";
    } else if (def.name === "password" || def.name === "tokenKey") {
      current.hidden = true;
      current.required = true;
    } else if (def.name === "email") {
      current.hidden = false;
      current.required = true;
    }
  }
}

function mergeOption(target: Record<string, unknown>, input: unknown, path: string, errors: ErrorData): void {
  if (!isPlainObject(input)) {
    errors[path] = invalidType("an object");
    return;
  }
  for (const key of safeKeys(input)) {
    if (!(key in target)) continue;
    const current = target[key];
    const value = input[key];
    if (isPlainObject(current)) {
      const nested: ErrorData = {};
      mergeOption(current, value, key, nested);
      if (Object.keys(nested).length) errors[path] = { ...(errors[path] as ErrorData), ...nested };
    } else if (Array.isArray(current)) {
      if (Array.isArray(value)) target[key] = structuredClone(value);
      else errors[path] = { ...(errors[path] as ErrorData), [key]: invalidType("a list") };
    } else if (current === null || typeof current === typeof value || (value === null && key === "pkce")) {
      target[key] = value;
    } else {
      errors[path] = { ...(errors[path] as ErrorData), [key]: invalidType(`a ${typeof current}`) };
    }
  }
}

/**
 * The API never shows OAuth2 client secrets, so a provider sent back without one (or with "") keeps the
 * stored secret of the provider of the same name (issue 18); a new value replaces it.
 */
function keepClientSecrets(c: Collection, base: Collection): void {
  const stored = new Map((base.oauth2?.providers ?? []).map((p) => [p.name, p.clientSecret]));
  for (const p of c.oauth2?.providers ?? []) {
    if (!isPlainObject(p)) continue;
    const kept = stored.get(p.name);
    if ((p.clientSecret === undefined || p.clientSecret === "") && kept) p.clientSecret = kept;
  }
}

/**
 * Applies a create/update/import body on top of `base` (a scaffold for a new collection, a copy of the stored
 * one for an update) and returns the resulting collection with any input-shape errors. Unknown keys are ignored,
 * as PocketBase does; `type` is read by the caller.
 */
export function applyCollectionInput(
  base: Collection,
  input: Record<string, unknown>,
  isNew: boolean,
): { collection: Collection; errors: ErrorData } {
  const c = structuredClone(base);
  const errors: ErrorData = {};
  // PocketBase before 0.23 sent fields as `schema` (and settings as `options`): refuse it rather than
  // silently saving a collection without its fields.
  if (input.schema !== undefined && input.fields === undefined) {
    errors.schema = fieldError(
      "validation_schema_legacy",
      'The "schema" key is the format of PocketBase before 0.23; send the fields as "fields" instead.',
    );
  }
  if (input.name !== undefined) {
    if (typeof input.name === "string") c.name = input.name;
    else errors.name = invalidType("a string");
  }
  if (isNew && input.id !== undefined && input.id !== "") {
    if (typeof input.id === "string") c.id = input.id;
    else errors.id = invalidType("a string");
  }
  if (input.system !== undefined) {
    if (typeof input.system === "boolean") c.system = input.system;
    else errors.system = invalidType("a boolean");
  }
  for (const rule of RULE_NAMES) {
    if (input[rule] === undefined) continue;
    if (input[rule] === null || typeof input[rule] === "string") c[rule] = input[rule] as string | null;
    else errors[rule] = invalidType("a string or null");
  }
  if (input.indexes !== undefined) {
    if (Array.isArray(input.indexes) && input.indexes.every((i) => typeof i === "string")) {
      c.indexes = [...(input.indexes as string[])];
    } else if (input.indexes === null) c.indexes = [];
    else errors.indexes = invalidType("a list of strings");
  }
  if (c.type === "view" && input.viewQuery !== undefined) {
    if (typeof input.viewQuery === "string") c.viewQuery = input.viewQuery;
    else errors.viewQuery = invalidType("a string");
  }
  if (input.fields !== undefined) {
    if (!Array.isArray(input.fields)) {
      errors.fields = invalidType("a list of fields");
    } else {
      const taken = new Set<string>();
      const fieldErrors: ErrorData = {};
      const fields: Field[] = [];
      input.fields.forEach((raw, i) => {
        const { field, errors: fe } = readField(raw, base.fields, taken);
        if (fe) fieldErrors[String(i)] = fe;
        if (field) fields.push(field);
      });
      if (Object.keys(fieldErrors).length) errors.fields = fieldErrors;
      else c.fields = fields;
    }
  }
  if (c.type === "auth") {
    const defaults = defaultAuthOptions() as unknown as Record<string, unknown>;
    const target = c as unknown as Record<string, unknown>;
    for (const key of AUTH_OPTION_KEYS) {
      if (target[key] === undefined) target[key] = defaults[key];
      if (input[key] === undefined) continue;
      if (key === "authRule" || key === "manageRule") {
        if (input[key] === null || typeof input[key] === "string") target[key] = input[key];
        else errors[key] = invalidType("a string or null");
        continue;
      }
      mergeOption(target[key] as Record<string, unknown>, input[key], key, errors);
    }
    keepClientSecrets(c, base);
  }
  if (input.search !== undefined) {
    const read = readSearchInput(input.search);
    if ("error" in read) errors.search = read.error;
    else if (read.search) c.search = read.search;
    else delete c.search;
  } else if (!isNew) carrySearchFields(base, c);
  enforceSystemFields(c);
  return { collection: c, errors };
}

/**
 * Like applyCollectionInput, with the import's field rules: an imported field that matches an existing one
 * by name and type keeps the existing id (so its column is not dropped), and existing fields missing from the
 * import are kept unless they are non-system and `deleteMissing` is set.
 */
export function applyCollectionInputForImport(
  base: Collection,
  input: Record<string, unknown>,
  isNew: boolean,
  deleteMissing: boolean,
): { collection: Collection; errors: ErrorData } {
  let patched = input;
  if (!isNew && Array.isArray(input.fields)) {
    const fields = (input.fields as unknown[]).map((raw) => {
      if (!isPlainObject(raw)) return raw;
      const same = base.fields.find((f) => f.name === raw.name && f.type === raw.type);
      return same && raw.id !== same.id ? { ...raw, id: same.id } : raw;
    });
    patched = { ...input, fields };
  } else if (!isNew && input.fields === undefined && deleteMissing) {
    patched = { ...input, fields: [] };
  }
  const result = applyCollectionInput(base, patched, isNew);
  if (!isNew && !Object.keys(result.errors).length) {
    for (const old of base.fields) {
      if (result.collection.fields.some((f) => f.id === old.id)) continue;
      if (old.system || !deleteMissing) result.collection.fields.push(structuredClone(old));
    }
  }
  return result;
}
