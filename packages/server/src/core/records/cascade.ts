import type { Queryable } from "../../db/index.js";
import { badRequest } from "../../errors/index.js";
import type { Collection } from "../collections/index.js";
import { type Field, isMultiValued } from "../fields/index.js";

/** Every (collection, relation field) pair that points at `target`. */
export function referencesTo(
  all: readonly Collection[],
  target: Collection,
): { collection: Collection; field: Field }[] {
  const out: { collection: Collection; field: Field }[] = [];
  for (const c of all) {
    if (c.type === "view") continue;
    for (const f of c.fields)
      if (f.type === "relation" && f.collectionId === target.id) out.push({ collection: c, field: f });
  }
  return out;
}

/** Rows of `collection` whose relation `field` holds `id`. */
async function referencing(
  q: Queryable,
  collection: Collection,
  field: Field,
  id: string,
): Promise<Record<string, unknown>[]> {
  const d = q.dialect;
  const t = d.quoteIdent;
  const col = t(field.name);
  const where = isMultiValued(field)
    ? `EXISTS (SELECT 1 FROM ${d.jsonEach(col, "je")} WHERE ${d.jsonEachValue("je")} = ?)`
    : `${col} = ?`;
  return q.all(`SELECT ${t("id")}, ${col} FROM ${t(collection.name)} WHERE ${where}`, [id]);
}

/**
 * Deletes records by id with PocketBase's relation semantics, inside the caller's transaction: dependants
 * through a `cascadeDelete` relation are deleted too (recursively); a required relation that would be left
 * empty refuses the delete with a 400; other references are removed from the dependants.
 * `onDeleted` is told of every deleted record (for events and file clean-up after commit).
 */
export async function deleteWithCascade(
  q: Queryable,
  all: readonly Collection[],
  collection: Collection,
  ids: readonly string[],
  onDeleted?: (collection: Collection, row: Record<string, unknown>) => void,
  seen: Set<string> = new Set(),
  around?: DeleteAround,
): Promise<void> {
  const t = q.dialect.quoteIdent;
  const refs = referencesTo(all, collection);
  for (const id of ids) {
    const key = `${collection.id}/${id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const row =
      onDeleted || around
        ? await q.get<Record<string, unknown>>(`SELECT * FROM ${t(collection.name)} WHERE ${t("id")} = ?`, [
            id,
          ])
        : undefined;
    const exec = async () => {
      for (const { collection: dep, field } of refs) {
        for (const ref of await referencing(q, dep, field, id)) {
          const depId = String(ref.id);
          if (field.cascadeDelete) {
            await deleteWithCascade(q, all, dep, [depId], onDeleted, seen, around);
            continue;
          }
          if (seen.has(`${dep.id}/${depId}`)) continue;
          await unlink(q, dep, field, depId, ref, id);
        }
      }
      await q.run(`DELETE FROM ${t(collection.name)} WHERE ${t("id")} = ?`, [id]);
      if (row && onDeleted) onDeleted(collection, row);
    };
    if (around && row) await around(collection, row, exec);
    else await exec();
  }
}

/**
 * Wraps the deletion of one record (its cascade included) so hooks can run around it, inside the
 * transaction; the deletion happens only if `exec` is called.
 */
export type DeleteAround = (
  collection: Collection,
  row: Record<string, unknown>,
  exec: () => Promise<void>,
) => Promise<void>;

/** Removes `id` from a dependant's relation, refusing when a required relation would be left empty. */
async function unlink(
  q: Queryable,
  dep: Collection,
  field: Field,
  depId: string,
  row: Record<string, unknown>,
  id: string,
): Promise<void> {
  const t = q.dialect.quoteIdent;
  let next: string;
  let empty: boolean;
  if (isMultiValued(field)) {
    const list = (JSON.parse(String(row[field.name] || "[]")) as string[]).filter((v) => v !== id);
    next = JSON.stringify(list);
    empty = list.length === 0;
  } else {
    next = "";
    empty = true;
  }
  if (field.required && empty) {
    throw badRequest(
      `The record cannot be deleted because it is part of a required reference in record ${depId} (${dep.name}).`,
    );
  }
  await q.run(`UPDATE ${t(dep.name)} SET ${t(field.name)} = ? WHERE ${t("id")} = ?`, [next, depId]);
}

/**
 * Deletes every record of a collection (with cascades), in one transaction; all or nothing. `onDeleted` is
 * told of the cascaded records of other collections (the truncated collection's own rows go without a call:
 * its whole storage folder can be dropped after the commit).
 */
export async function truncateCollection(
  q: Queryable,
  all: readonly Collection[],
  collection: Collection,
  onDeleted?: (collection: Collection, row: Record<string, unknown>) => void,
): Promise<void> {
  const t = q.dialect.quoteIdent;
  await q.transaction(async (tx) => {
    if (!referencesTo(all, collection).length) {
      await tx.run(`DELETE FROM ${t(collection.name)}`);
      return;
    }
    const ids = (await tx.all<{ id: string }>(`SELECT ${t("id")} FROM ${t(collection.name)}`)).map(
      (r) => r.id,
    );
    try {
      const others = onDeleted
        ? (c: Collection, row: Record<string, unknown>) => {
            if (c.id !== collection.id) onDeleted(c, row);
          }
        : undefined;
      await deleteWithCascade(tx, all, collection, ids, others);
    } catch (err) {
      throw badRequest(
        "Failed to truncate collection (most likely due to required cascade delete record references).",
        {},
        err,
      );
    }
  });
}
