import type { App } from "../core/app.js";
import { type Collection, type CollectionType, newCollection } from "../core/collections/index.js";
import { applyCollectionInputForImport } from "../core/collections/normalize.js";
import { badRequest, type ErrorData, fieldError } from "../errors/index.js";
import { isPlainObject } from "../util/index.js";

function importFailure(c: Collection, errors: ErrorData): never {
  const detail = JSON.stringify(errors, null, 2);
  throw badRequest("Failed to import collections.", {
    collections: fieldError(
      "validation_collections_import_failure",
      `Data validations failed for collection "${c.name}" (${c.id}):\n${detail}`,
    ),
  });
}

/**
 * `PUT /api/collections/import`: creates or updates every listed collection (matched by id, else by name) and,
 * with `deleteMissing`, deletes the non-system collections not listed — all in one transaction, all or nothing.
 */
export async function importCollections(app: App, body: unknown): Promise<void> {
  if (!isPlainObject(body)) throw badRequest("An error occurred while loading the submitted data.");
  const list = body.collections;
  const deleteMissing = body.deleteMissing === true;
  if (list !== undefined && !Array.isArray(list))
    throw badRequest("An error occurred while loading the submitted data.");
  if (!Array.isArray(list) || list.length === 0) {
    throw badRequest("An error occurred while validating the submitted data.", {
      collections: fieldError("validation_required", "Cannot be blank."),
    });
  }
  const changes: { before: Collection | undefined; after: Collection | undefined }[] = [];
  const kept = new Set<string>();
  for (const item of list) {
    if (!isPlainObject(item)) throw badRequest("An error occurred while loading the submitted data.");
    const id = typeof item.id === "string" ? item.id : "";
    const name = typeof item.name === "string" ? item.name : "";
    const before =
      (id && app.collections.find(id)?.id === id ? app.collections.find(id) : undefined) ??
      (!id && name ? app.collections.find(name) : undefined);
    const type = (before?.type ?? item.type ?? "base") as CollectionType;
    if (!["base", "auth", "view"].includes(type)) {
      importFailure({ name, id } as Collection, {
        type: fieldError("validation_in_invalid", "Must be a valid value."),
      });
    }
    const base = before ?? newCollection(type, name, id || undefined);
    const { collection, errors } = applyCollectionInputForImport(base, item, !before, deleteMissing);
    if (before && item.type !== undefined && item.type !== before.type) {
      errors.type = fieldError("validation_collection_type_change", "Collection type cannot be changed.");
    }
    if (Object.keys(errors).length) importFailure(collection, errors);
    if (changes.some((ch) => ch.after?.id === collection.id)) {
      importFailure(collection, {
        id: fieldError("validation_duplicated_id", "The collection is listed twice."),
      });
    }
    kept.add(collection.id);
    changes.push({ before, after: collection });
  }
  if (deleteMissing) {
    for (const c of app.collections.list()) {
      if (!c.system && !kept.has(c.id)) changes.unshift({ before: c, after: undefined });
    }
  }
  await app.collections.commit(changes, "Failed to import collections.", importFailure);
}
