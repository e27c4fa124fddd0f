import { type ErrorData, fieldError } from "../../errors/index.js";
import { type Field, fieldType } from "../fields/index.js";
import { parseIndex } from "./indexes.js";
import { type Collection, isAuthCollection, TOKEN_KEYS } from "./model.js";
import { validateSearch } from "./search.js";

/** Table names Basalt keeps for itself; no collection may take them. */
export const INTERNAL_TABLES = new Set([
  "_collections",
  "_params",
  "_migrations",
  "_jobs",
  "_webhooks",
  "_webhook_deliveries",
  "_webhook_inbound",
]);

/** Names a collection may not have: SQL keywords that would make hand-written SQL and views ambiguous. */
const SQL_KEYWORDS = new Set(
  (
    "all alter analyze and as asc between by case cast check collate column constraint create cross current_date " +
    "current_time current_timestamp default deferrable delete desc distinct drop else end escape except exists " +
    "foreign from full group having in index inner insert intersect into is isnull join left like limit natural " +
    "not notnull null offset on or order outer primary references returning right select set table then to " +
    "transaction trigger union unique update using values view when where window with"
  ).split(" "),
);

/** Field names PocketBase reserves for record JSON and the filter language. */
const RESERVED_FIELD_NAMES = new Set([
  "null",
  "true",
  "false",
  "_rowid_",
  "collectionid",
  "collectionname",
  "expand",
]);
const AUTH_RESERVED_FIELD_NAMES = new Set(["passwordconfirm", "oldpassword"]);
const WORD_RE = /^\w+$/;

/** Field type changes that keep every stored value valid and need no data conversion. */
const SAFE_TYPE_CHANGES = new Set([
  "text>editor",
  "editor>text",
  "email>text",
  "url>text",
  "email>editor",
  "url>editor",
]);

/** What validation needs to know besides the collection itself. */
export interface ValidateContext {
  /** The collection before this change; undefined when it is new. */
  readonly previous: Collection | undefined;
  /** Every collection as it will be after this change (this one included). */
  readonly all: readonly Collection[];
  /** Validates one rule expression against the schema `all`; returns an error message or null. */
  readonly checkRule?: (collection: Collection, rule: string, all: readonly Collection[]) => string | null;
}

function err(code: string, message: string, params?: Record<string, unknown>) {
  return fieldError(code, message, params);
}

function validateName(c: Collection, ctx: ValidateContext, errors: ErrorData): void {
  const name = c.name;
  if (!name) errors.name = err("validation_required", "Cannot be blank.");
  else if (name.length > 255)
    errors.name = err("validation_length_too_long", "The length must be no more than 255.");
  else if (!WORD_RE.test(name)) errors.name = err("validation_match_invalid", "Must be in a valid format.");
  else if (/_via_/i.test(name))
    errors.name = err("validation_found_via", 'The value cannot contain "_via_".');
  else if (SQL_KEYWORDS.has(name.toLowerCase())) {
    errors.name = err("validation_collection_name_reserved", "The name is a reserved SQL keyword.");
  } else if (
    INTERNAL_TABLES.has(name.toLowerCase()) ||
    name.toLowerCase().startsWith("sqlite_") ||
    // search indexes (issue 18) are named `_fts_<collection id>`
    name.toLowerCase().startsWith("_fts_")
  ) {
    errors.name = err(
      "validation_collection_name_invalid",
      "The name shouldn't match with an existing internal table.",
    );
  } else if (ctx.previous?.system && ctx.previous.name !== name) {
    errors.name = err(
      "validation_collection_system_name_change",
      "System collection name cannot be changed.",
    );
  } else if (ctx.all.some((o) => o.id !== c.id && o.name.toLowerCase() === name.toLowerCase())) {
    errors.name = err(
      "validation_collection_name_exists",
      "Collection name must be unique (case insensitive).",
    );
  } else if (ctx.all.some((o) => o.id !== c.id && o.id.toLowerCase() === name.toLowerCase())) {
    errors.name = err(
      "validation_collection_name_id_duplicate",
      "The name must not match an existing collection id.",
    );
  }
}

function validateFieldName(f: Field, c: Collection): ReturnType<typeof err> | undefined {
  if (!f.name) return err("validation_required", "Cannot be blank.");
  if (f.name.length > 100) return err("validation_length_too_long", "The length must be no more than 100.");
  if (!WORD_RE.test(f.name)) return err("validation_match_invalid", "Must be in a valid format.");
  if (/_via_/i.test(f.name)) return err("validation_found_via", 'The value cannot contain "_via_".');
  if (RESERVED_FIELD_NAMES.has(f.name.toLowerCase()))
    return err("validation_not_in_invalid", "Must not be in list.");
  if (c.type === "auth" && AUTH_RESERVED_FIELD_NAMES.has(f.name.toLowerCase())) {
    return err("validation_reserved_field_name", "The field name is reserved and cannot be used.");
  }
  return undefined;
}

function validateFields(c: Collection, ctx: ValidateContext, errors: ErrorData): void {
  if (c.type === "view") return;
  if (!c.fields.length) {
    errors.fields = err("validation_required", "Cannot be blank.");
    return;
  }
  const out: ErrorData = {};
  const ids = new Set<string>();
  const names = new Set<string>();
  const findCollection = (idOrName: string) =>
    ctx.all.find((o) => o.id === idOrName) ??
    ctx.all.find((o) => o.name.toLowerCase() === idOrName.toLowerCase());
  c.fields.forEach((f, i) => {
    const fe: ErrorData = {};
    if (!f.id || f.id.length > 100)
      fe.id = err("validation_length_out_of_range", "The length must be between 1 and 100.");
    else if (ids.has(f.id))
      fe.id = err("validation_duplicated_field_id", `Duplicated or invalid field id "${f.id}".`);
    ids.add(f.id);
    const nameError = validateFieldName(f, c);
    if (nameError) fe.name = nameError;
    else if (names.has(f.name.toLowerCase())) {
      fe.name = err("validation_duplicated_field_name", `Duplicated or invalid field name "${f.name}".`, {
        fieldName: f.name,
      });
    }
    names.add(f.name.toLowerCase());
    const previous = ctx.previous?.fields.find((p) => p.id === f.id);
    if (previous && previous.type !== f.type && !SAFE_TYPE_CHANGES.has(`${previous.type}>${f.type}`)) {
      fe.type = err("validation_field_type_change", "Field type cannot be changed.");
    }
    if (previous?.system && previous.name !== f.name) {
      fe.name = err("validation_system_field_change", "System fields cannot be deleted or renamed.");
    }
    const settings = fieldType(f.type)?.validateSettings(f, {
      collection: c,
      previous: previous?.type === f.type ? previous : undefined,
      findCollection,
    });
    if (settings) Object.assign(fe, settings);
    if (Object.keys(fe).length) out[String(i)] = fe;
  });
  for (const prev of ctx.previous?.fields ?? []) {
    if (prev.system && !c.fields.some((f) => f.id === prev.id)) {
      errors.fields = err("validation_system_field_change", "System fields cannot be deleted or renamed.");
      return;
    }
  }
  const pk = c.fields.filter((f) => f.primaryKey === true);
  if (pk.length !== 1 || pk[0].name !== "id" || pk[0].type !== "text") {
    errors.fields = err("validation_missing_primary_key", 'Missing or invalid "id" PK field.');
    return;
  }
  if (c.type === "auth") {
    const expect: Record<string, string> = {
      password: "password",
      tokenKey: "text",
      email: "email",
      emailVisibility: "bool",
      verified: "bool",
    };
    for (const [name, type] of Object.entries(expect)) {
      const f = c.fields.find((x) => x.name === name);
      if (!f || f.type !== type) {
        errors.fields = err(`validation_missing_${name}_field`, `System "${name}" field is required.`);
        return;
      }
    }
  }
  if (Object.keys(out).length) errors.fields = out;
}

function validateRules(c: Collection, ctx: ValidateContext, errors: ErrorData): void {
  const keys = [
    "listRule",
    "viewRule",
    "createRule",
    "updateRule",
    "deleteRule",
    "authRule",
    "manageRule",
  ] as const;
  for (const key of keys) {
    const rule = c[key];
    if (rule === undefined || rule === null) continue;
    if (c.type === "view" && (key === "createRule" || key === "updateRule" || key === "deleteRule")) {
      errors[key] = err("validation_nil", "Must be blank.");
      continue;
    }
    if (key === "manageRule" && rule === "") {
      errors[key] = err("validation_required", "Cannot be blank; use null to lock it.");
      continue;
    }
    if (ctx.previous?.system && ctx.previous[key] !== rule && c.name === "_superusers") {
      errors[key] = err(
        "validation_collection_system_rule_change",
        "System collection API rule cannot be changed.",
      );
      continue;
    }
    if (rule.length > 3500) {
      errors[key] = err("validation_invalid_rule", "Invalid rule. The rule is longer than 3500 characters.");
      continue;
    }
    const problem = rule.trim() === "" ? null : ctx.checkRule?.(c, rule, ctx.all);
    if (problem) errors[key] = err("validation_invalid_rule", `Invalid rule. Raw error: ${problem}`);
  }
}

function validateIndexes(c: Collection, ctx: ValidateContext, errors: ErrorData): void {
  if (c.type === "view") {
    if (c.indexes.length)
      errors.indexes = err("validation_indexes_not_supported", "View collections don't support indexes.");
    return;
  }
  const out: ErrorData = {};
  const names = new Set<string>();
  const defs = new Set<string>();
  const uniqueSingle = new Set<string>();
  c.indexes.forEach((text, i) => {
    const idx = parseIndex(text);
    if (!idx) {
      out[String(i)] = err("validation_invalid_index_expression", "Invalid CREATE INDEX expression.");
      return;
    }
    const lower = idx.name.toLowerCase();
    const columnsKnown = idx.columns.every((col) => c.fields.some((f) => f.name === col.name));
    const whereKnown = idx.where.every((t) => t.kind !== "ident" || c.fields.some((f) => f.name === t.value));
    const usedBy = ctx.all.find(
      (o) => o.id !== c.id && o.indexes.some((other) => parseIndex(other)?.name.toLowerCase() === lower),
    );
    const def = JSON.stringify([idx.unique, idx.columns, idx.where]);
    if (!WORD_RE.test(idx.name) || idx.name.length > 100) {
      out[String(i)] = err(
        "validation_invalid_index_name",
        "The index name must be 1 to 100 letters, digits or _.",
      );
    } else if (!columnsKnown || !whereKnown) {
      out[String(i)] = err(
        "validation_invalid_index_expression",
        "The index names a column the collection doesn't have.",
      );
    } else if (
      names.has(lower) ||
      INTERNAL_TABLES.has(lower) ||
      ctx.all.some((o) => o.name.toLowerCase() === lower)
    ) {
      out[String(i)] = err("validation_duplicated_index_name", "The index name already exists.");
    } else if (usedBy) {
      out[String(i)] = err(
        "validation_existing_index_name",
        `The index name is already used in ${usedBy.name} collection.`,
        {
          usedTableName: usedBy.name,
        },
      );
    } else if (defs.has(def)) {
      out[String(i)] = err("validation_duplicated_index_definition", "The index definition already exists.");
    }
    names.add(lower);
    defs.add(def);
    if (idx.unique && idx.columns.length === 1) uniqueSingle.add(idx.columns[0].name);
  });
  if (Object.keys(out).length) {
    errors.indexes = out;
    return;
  }
  if (isAuthCollection(c)) {
    for (const name of ["tokenKey", "email"]) {
      if (!uniqueSingle.has(name)) {
        errors.indexes = err(
          "validation_missing_required_unique_index",
          `Missing required unique index for field "${name}".`,
          {
            fieldName: name,
          },
        );
        return;
      }
    }
    if (c.passwordAuth.enabled) {
      for (const name of c.passwordAuth.identityFields) {
        if (!c.fields.some((f) => f.name === name)) {
          errors.passwordAuth = {
            identityFields: err("validation_missing_field", `Invalid or missing field ${name}.`),
          };
        } else if (!uniqueSingle.has(name)) {
          errors.passwordAuth = {
            identityFields: err(
              "validation_missing_unique_constraint",
              `The field ${name} doesn't have a UNIQUE constraint.`,
            ),
          };
        }
      }
    }
  }
}

function validateAuthOptions(c: Collection, errors: ErrorData): void {
  if (!isAuthCollection(c)) return;
  for (const key of TOKEN_KEYS) {
    const d = c[key].duration;
    if (!Number.isInteger(d) || d < 10 || d > 94670856) {
      errors[key] = { duration: err("validation_out_of_range", "Must be between 10 and 94670856 seconds.") };
    }
  }
  if (c.otp.enabled) {
    if (!Number.isInteger(c.otp.duration) || c.otp.duration < 10 || c.otp.duration > 86400) {
      errors.otp = { duration: err("validation_out_of_range", "Must be between 10 and 86400 seconds.") };
    } else if (!Number.isInteger(c.otp.length) || c.otp.length < 4 || c.otp.length > 64) {
      errors.otp = { length: err("validation_out_of_range", "Must be between 4 and 64.") };
    }
  }
  if (c.mfa.enabled) {
    const methods = [c.passwordAuth.enabled, c.otp.enabled, c.oauth2.enabled].filter(Boolean).length;
    if (methods < 2) {
      errors.mfa = {
        enabled: err(
          "validation_mfa_not_enough_auths",
          "MFA requires at least 2 auth methods to be enabled.",
        ),
      };
    } else if (!Number.isInteger(c.mfa.duration) || c.mfa.duration < 10 || c.mfa.duration > 86400) {
      errors.mfa = { duration: err("validation_out_of_range", "Must be between 10 and 86400 seconds.") };
    }
  }
  if (c.passwordAuth.enabled && !c.passwordAuth.identityFields.length) {
    errors.passwordAuth = { identityFields: err("validation_required", "Cannot be blank.") };
  }
  const providers = new Set<string>();
  c.oauth2.providers.forEach((p, i) => {
    if (providers.has(p.name)) {
      errors.oauth2 = {
        providers: {
          [String(i)]: { name: err("validation_duplicated_provider", "The provider is already added.") },
        },
      };
    }
    providers.add(p.name);
  });
  for (const key of [
    "verificationTemplate",
    "resetPasswordTemplate",
    "confirmEmailChangeTemplate",
  ] as const) {
    if (!c[key].subject || !c[key].body) {
      errors[key] = { [c[key].subject ? "body" : "subject"]: err("validation_required", "Cannot be blank.") };
    }
  }
}

/** Checks a whole collection as it would be saved; returns PocketBase-shaped field errors (empty when valid). */
export function validateCollection(c: Collection, ctx: ValidateContext): ErrorData {
  const errors: ErrorData = {};
  const prev = ctx.previous;
  if (!prev) {
    if (!c.id || c.id.length > 100 || !WORD_RE.test(c.id)) {
      errors.id = err("validation_invalid_id", "Must be 1 to 100 letters, digits or _.");
    } else if (ctx.all.some((o) => o !== c && o.id.toLowerCase() === c.id.toLowerCase())) {
      errors.id = err("validation_invalid_or_existing_id", "The id is invalid or already exists.");
    }
  }
  if (!["base", "auth", "view"].includes(c.type))
    errors.type = err("validation_in_invalid", "Must be a valid value.");
  if (prev && prev.type !== c.type)
    errors.type = err("validation_collection_type_change", "Collection type cannot be changed.");
  if (prev && prev.system !== c.system) {
    errors.system = err(
      "validation_collection_system_flag_change",
      "System collection state cannot be changed.",
    );
  }
  validateName(c, ctx, errors);
  validateFields(c, ctx, errors);
  if (!errors.fields) validateIndexes(c, ctx, errors);
  validateAuthOptions(c, errors);
  if (c.type === "view" && !c.viewQuery?.trim())
    errors.viewQuery = err("validation_required", "Cannot be blank.");
  if (!errors.fields) validateRules(c, ctx, errors);
  if (!errors.fields) validateSearch(c, errors);
  return errors;
}
