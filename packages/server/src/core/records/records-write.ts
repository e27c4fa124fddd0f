import { type Queryable, type Sql, UniqueViolationError } from "../../db/index.js";
import { ApiError, badRequest, type ErrorData, fieldError } from "../../errors/index.js";
import { nowDateTime } from "../../util/index.js";
import type { Collection } from "../collections/index.js";
import { draftToRow, generateFromPattern, type RecordDraft } from "./record-draft.js";
import { findRowsWithRule, type QueryContext } from "./records-query.js";
import { rowCte } from "./row-cte.js";

/** PocketBase's answer when a unique index refuses a write: each indexed field gets `validation_not_unique`. */
export function uniqueViolationErrors(err: UniqueViolationError, collection: Collection): ErrorData {
  const data: ErrorData = {};
  for (const col of err.columns) {
    if (collection.fields.some((f) => f.name === col)) {
      data[col] = fieldError("validation_not_unique", "Value must be unique.");
    }
  }
  return data;
}

/** Runs a write, turning a unique-index refusal into PocketBase's 400 with field errors. */
export function writeOrFail<T>(
  collection: Collection,
  failMessage: string,
  fn: () => Promise<T>,
): Promise<T> {
  let pending: Promise<T>;
  try {
    pending = fn();
  } catch (err) {
    return Promise.reject(err);
  }
  return pending.catch((err: unknown) => {
    if (err instanceof UniqueViolationError) {
      throw badRequest(failMessage, uniqueViolationErrors(err, collection), err);
    }
    throw err;
  });
}

/** Fills what the server sets itself: generated text values (id, tokenKey…) on create, and autodates. */
export function fillServerValues(draft: RecordDraft): void {
  const now = nowDateTime();
  for (const field of draft.collection.fields) {
    const pattern = String(field.autogeneratePattern ?? "");
    if (draft.isNew && field.type === "text" && pattern && draft.values[field.name] === "") {
      draft.values[field.name] = generateFromPattern(pattern);
    }
    if (field.type === "autodate" && ((draft.isNew && field.onCreate) || (!draft.isNew && field.onUpdate))) {
      draft.values[field.name] = now;
    }
  }
  // A new password or e-mail address revokes every token issued for the record (auth sessions and pending
  // reset, verification and e-mail-change links sent to the old address).
  const emailChanged =
    String(draft.values.email ?? "").toLowerCase() !== String(draft.original.email ?? "").toLowerCase();
  if (!draft.isNew && draft.collection.type === "auth" && (draft.plainPasswords.password || emailChanged)) {
    const tokenKey = draft.collection.fields.find((f) => f.name === "tokenKey");
    draft.values.tokenKey = generateFromPattern(String(tokenKey?.autogeneratePattern || "[a-zA-Z0-9]{50}"));
  }
}

const dummies = new WeakMap<Collection, Collection>();

/** The stand-in collection a create rule is evaluated on: a one-row CTE holding the submitted values. */
function dummyCollection(collection: Collection): Collection {
  let d = dummies.get(collection);
  if (!d) {
    d = { ...collection, id: `${collection.id}__pb_create__`, name: `__pb_create__${collection.name}` };
    dummies.set(collection, d);
  }
  return d;
}

/** The `WITH dummy AS (SELECT ? AS col, …)` prefix holding a draft's values. */
function dummyCte(q: Queryable, draft: RecordDraft, table: string): Sql {
  const row = draftToRow(draft);
  if (draft.collection.type === "auth") row.verified = false;
  return rowCte(q, draft.collection, row, table);
}

/**
 * Evaluates a rule against a record that does not exist yet (PocketBase's create check): true when the
 * submitted values and request satisfy it.
 */
export async function draftMatchesRule(
  ctx: QueryContext,
  draft: RecordDraft,
  rule: string,
): Promise<boolean> {
  if (rule === "") return true;
  const dummy = dummyCollection(draft.collection);
  const prefix = dummyCte(ctx.q, draft, dummy.name);
  try {
    const rows = await findRowsWithRule(ctx, dummy, [String(draft.values.id)], rule, dummy.name, prefix);
    return rows.length > 0;
  } catch (err) {
    if (err instanceof ApiError) return false;
    throw err;
  }
}

/**
 * Evaluates a rule against a record's values as given (e.g. a row just deleted), without reading its table:
 * true when the row and the request satisfy it. An invalid rule matches nothing.
 */
export async function rowMatchesRule(
  ctx: QueryContext,
  collection: Collection,
  row: Record<string, unknown>,
  rule: string,
): Promise<boolean> {
  if (rule === "") return true;
  const dummy = dummyCollection(collection);
  const prefix = rowCte(ctx.q, collection, row, dummy.name);
  try {
    return (await findRowsWithRule(ctx, dummy, [String(row.id)], rule, dummy.name, prefix)).length > 0;
  } catch (err) {
    if (err instanceof ApiError) return false;
    throw err;
  }
}
