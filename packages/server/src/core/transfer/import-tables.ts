import {
  type ColumnKind,
  createView,
  DbError,
  type Queryable,
  type SqlValue,
  syncTable,
} from "../../db/index.js";
import { BasaltError } from "../../errors/index.js";
import {
  COLLECTIONS_TABLE,
  COLLECTIONS_TABLE_SPEC,
  type Collection,
  collectionTableSpec,
  createSearchIndex,
  PARAMS_TABLE,
  PARAMS_TABLE_SPEC,
  parseIndex,
  saveCollectionRow,
} from "../collections/index.js";
import { fieldType } from "../fields/index.js";
import { badDump } from "./dump-format.js";

/** Throws the one-line "not empty" error when the target already holds Basalt's tables. */
export async function refuseNonEmpty(q: Queryable, names: readonly string[] = []): Promise<void> {
  for (const name of [COLLECTIONS_TABLE, PARAMS_TABLE, ...names]) {
    if (await q.tableExists(name)) {
      throw new BasaltError("BASALT_ERR_TRANSFER_TARGET_NOT_EMPTY", `(a table or view named ${name} exists)`);
    }
  }
}

/** Checks that a collection definition from a dump can be created (known type, field types, indexes). */
export function checkCollection(c: Collection, lineNo: number): void {
  const where = `line ${lineNo} (collection ${JSON.stringify(c.name)})`;
  if (typeof c.id !== "string" || !c.id) badDump(`${where} has no id`);
  if (!["base", "auth", "view"].includes(c.type)) badDump(`${where} has an unknown type`);
  if (!Array.isArray(c.fields) || !Array.isArray(c.indexes)) badDump(`${where} lacks fields or indexes`);
  for (const f of c.fields) {
    if (typeof f?.name !== "string" || !fieldType(f.type)) badDump(`${where} has a field of unknown type`);
  }
  if (c.type !== "view" && !c.fields.some((f) => f.name === "id")) badDump(`${where} has no id field`);
  for (const i of c.indexes) if (!parseIndex(i)) badDump(`${where} has an index Basalt cannot read`);
  if (c.type === "view" && typeof c.viewQuery !== "string") badDump(`${where} has no view query`);
}

/** Creates the system tables, every collection's table (indexes come after the records) and definitions. */
export async function createTables(q: Queryable, collections: readonly Collection[]): Promise<void> {
  await refuseNonEmpty(
    q,
    collections.map((c) => c.name),
  );
  await syncTable(q, null, COLLECTIONS_TABLE_SPEC);
  await syncTable(q, null, PARAMS_TABLE_SPEC);
  for (const c of collections) {
    if (c.type !== "view") await syncTable(q, null, { ...collectionTableSpec(c, q.dialect), indexes: [] });
    await saveCollectionRow(q, c);
  }
}

/**
 * Creates the indexes (and search indexes) of every table, after the bulk load: faster, and a clash names
 * the index.
 */
export async function createIndexes(q: Queryable, collections: readonly Collection[]): Promise<void> {
  for (const c of collections) {
    if (c.type === "view") continue;
    for (const index of collectionTableSpec(c, q.dialect).indexes) {
      try {
        await q.exec(q.dialect.createIndex(c.name, index));
      } catch (err) {
        if (!(err instanceof DbError)) throw err;
        badDump(`the index ${index.name} of ${c.name} cannot be built on the target: ${err.message}`);
      }
    }
    // the search index too (issue 18): built from the loaded rows, maintained by the target from now on
    await createSearchIndex(q, c);
  }
}

/** Creates the views, last, from their stored queries. */
export async function createViews(q: Queryable, collections: readonly Collection[]): Promise<void> {
  for (const c of collections) {
    if (c.type !== "view") continue;
    const query = String(c.viewQuery ?? "")
      .trim()
      .replace(/;\s*$/, "");
    try {
      await createView(q, c.name, query);
    } catch (err) {
      if (!(err instanceof DbError)) throw err;
      throw new BasaltError("BASALT_ERR_TRANSFER_VIEW_QUERY", `${c.name}: ${err.message}`, err);
    }
  }
}

/** Inserts a settings row. */
export async function insertParam(
  q: Queryable,
  p: { id: string; value: unknown; created: string; updated: string },
): Promise<void> {
  const t = q.dialect.quoteIdent;
  await q.run(
    `INSERT INTO ${t(PARAMS_TABLE)} (${["id", "value", "created", "updated"].map(t).join(", ")}) VALUES (?, ?, ?, ?)`,
    [
      p.id,
      p.value === null ? null : JSON.stringify(p.value),
      String(p.created ?? ""),
      String(p.updated ?? ""),
    ],
  );
}

/** How many rows one multi-row INSERT carries, under every engine's bound-parameter limit. */
export function batchSize(kinds: ReadonlyMap<string, ColumnKind>): number {
  return Math.max(1, Math.min(500, Math.floor(10_000 / Math.max(1, kinds.size))));
}

/** Inserts rows (already converted to driver values, in the order of `columns`) with one statement. */
export async function insertBatch(
  q: Queryable,
  table: string,
  columns: readonly string[],
  rows: readonly SqlValue[][],
): Promise<void> {
  if (!rows.length) return;
  const t = q.dialect.quoteIdent;
  const tuple = `(${columns.map(() => "?").join(", ")})`;
  await q.run(
    `INSERT INTO ${t(table)} (${columns.map(t).join(", ")}) VALUES ${rows.map(() => tuple).join(", ")}`,
    rows.flat(),
  );
}
