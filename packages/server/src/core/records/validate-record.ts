import type { Queryable } from "../../db/index.js";
import { type ErrorData, fieldError } from "../../errors/index.js";
import type { CollectionsService } from "../collections/index.js";
import { FIELD_VALUES, valueList } from "./field-values/index.js";
import type { RecordDraft } from "./record-draft.js";

/**
 * Checks every field of a draft against its type and options (PocketBase's codes and messages), then that
 * every related id exists. Returns the field-keyed errors; empty when the draft is valid.
 */
export async function validateDraft(
  q: Queryable,
  collections: CollectionsService,
  draft: RecordDraft,
): Promise<ErrorData> {
  const errors: ErrorData = { ...draft.shapeErrors };
  for (const field of draft.collection.fields) {
    if (errors[field.name]) continue;
    const isPassword = field.type === "password";
    const value = isPassword ? (draft.plainPasswords[field.name] ?? "") : draft.values[field.name];
    const previous = draft.isNew && !isPassword ? undefined : draft.original[field.name];
    const err = FIELD_VALUES[field.type].validate(value, field, { isNew: draft.isNew, previous });
    if (err) errors[field.name] = err;
  }
  const t = q.dialect.quoteIdent;
  for (const field of draft.collection.fields) {
    if (field.type !== "relation" || errors[field.name]) continue;
    const ids = valueList(draft.values[field.name]);
    if (!ids.length) continue;
    const target = collections.find(String(field.collectionId));
    if (!target) {
      errors[field.name] = fieldError(
        "validation_missing_rel_collection",
        "Relation connection is missing or cannot be accessed.",
      );
      continue;
    }
    const row = await q.get<{ n: number }>(
      `SELECT COUNT(*) AS n FROM ${t(target.name)} WHERE ${t("id")} IN (${ids.map(() => "?").join(", ")})`,
      ids,
    );
    if (Number(row?.n ?? 0) !== ids.length) {
      errors[field.name] = fieldError(
        "validation_missing_rel_records",
        "Failed to find all relation records with the provided ids.",
      );
    }
  }
  return errors;
}
