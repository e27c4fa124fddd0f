import { type Queryable, type Sql, type SqlValue, scalarTypeOf } from "../../db/index.js";
import type { Collection } from "../collections/index.js";
import { fieldType } from "../fields/index.js";

function toParam(value: unknown): SqlValue {
  if (value === undefined) return null;
  if (value !== null && typeof value === "object" && !Buffer.isBuffer(value)) return JSON.stringify(value);
  return value as SqlValue;
}

/**
 * `WITH <name> AS (SELECT ? AS col, …)`: a record's values as a one-row table a rule can be evaluated on.
 * Each parameter carries its column's type, so it compares and reads as JSON like the stored column would.
 */
export function rowCte(
  q: Queryable,
  collection: Collection,
  row: Record<string, unknown>,
  name: string,
): Sql {
  const d = q.dialect;
  const cols = collection.fields.filter((f) => f.name in row);
  const select = cols.map((f) => {
    const kind = fieldType(f.type)?.columnKind(f) ?? "text";
    return `${d.typedParam(scalarTypeOf(kind))} AS ${d.quoteIdent(f.name)}`;
  });
  return {
    sql: `WITH ${d.quoteIdent(name)} AS (SELECT ${select.join(", ")})`,
    params: cols.map((f) => toParam(row[f.name])),
  };
}
