import type { Queryable, SqlValue } from "../../db/index.js";
import type { Collection } from "../collections/index.js";
import type { RecordRow } from "./serialize.js";

/** Reads one stored row by id, or undefined. */
export function findRow(q: Queryable, collection: Collection, id: string): Promise<RecordRow | undefined> {
  const t = q.dialect.quoteIdent;
  return q.get<RecordRow>(`SELECT * FROM ${t(collection.name)} WHERE ${t("id")} = ?`, [id]);
}

/**
 * Reads one stored row by a column's value, or undefined. With `caseInsensitive` the column is compared the
 * way its `COLLATE NOCASE` index is built (auth e-mails), so the look-up is an index seek on both stores. A
 * text value also requires a non-empty column: that matches the `WHERE col != ''` of the unique indexes on
 * e-mails and identity fields (a partial index serves only queries that imply its condition), and an empty
 * value means "unset", which never identifies a row.
 */
export async function findRowBy(
  q: Queryable,
  collection: Collection,
  column: string,
  value: SqlValue,
  caseInsensitive = false,
): Promise<RecordRow | undefined> {
  if (value === "") return undefined;
  const t = q.dialect.quoteIdent;
  const col = t(column);
  const where =
    typeof value === "string"
      ? `${caseInsensitive ? q.dialect.equalsNoCase(col, "?") : `${col} = ?`} AND ${col} != ''`
      : `${col} = ?`;
  return q.get<RecordRow>(`SELECT * FROM ${t(collection.name)} WHERE ${where} LIMIT 1`, [value]);
}

/** Inserts a row (column name → driver value). */
export function insertRow(
  q: Queryable,
  collection: Collection,
  values: Record<string, SqlValue>,
): Promise<unknown> {
  const t = q.dialect.quoteIdent;
  const cols = Object.keys(values);
  return q.run(
    `INSERT INTO ${t(collection.name)} (${cols.map(t).join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`,
    cols.map((c) => values[c]),
  );
}

/** Updates columns of the row with that id; returns how many rows changed. */
export async function updateRow(
  q: Queryable,
  collection: Collection,
  id: string,
  values: Record<string, SqlValue>,
): Promise<number> {
  const t = q.dialect.quoteIdent;
  const cols = Object.keys(values);
  if (!cols.length) return 0;
  const r = await q.run(
    `UPDATE ${t(collection.name)} SET ${cols.map((c) => `${t(c)} = ?`).join(", ")} WHERE ${t("id")} = ?`,
    [...cols.map((c) => values[c]), id],
  );
  return r.changes;
}

/** Deletes the row with that id; returns how many rows went. */
export async function deleteRow(q: Queryable, collection: Collection, id: string): Promise<number> {
  const t = q.dialect.quoteIdent;
  return (await q.run(`DELETE FROM ${t(collection.name)} WHERE ${t("id")} = ?`, [id])).changes;
}
