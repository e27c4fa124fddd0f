import type { ColumnInfo } from "../dialect.js";

/** A function running one parameterised statement (with `?` placeholders) and returning its rows and fields. */
export type RawQuery = (
  sql: string,
  params?: readonly (string | number)[],
) => Promise<{
  rows: Record<string, unknown>[];
  fields: { name: string; tableID: number; columnID: number }[];
}>;

/** Columns of a table or view on the search path, in order; empty when it does not exist. */
export async function pgTableColumns(query: RawQuery, table: string): Promise<ColumnInfo[]> {
  const { rows } = await query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS nn,
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary AND a.attnum = ANY(i.indkey)) AS pk
     FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
     WHERE c.relname = ? AND pg_table_is_visible(c.oid) AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum`,
    [table],
  );
  return rows.map((r) => ({
    name: String(r.name),
    type: String(r.type),
    notNull: r.nn === true,
    primaryKey: r.pk === true,
  }));
}

/** True when a table or view of that name (ASCII case-insensitive, as on SQLite) is on the search path. */
export async function pgTableExists(query: RawQuery, table: string): Promise<boolean> {
  const { rows } = await query(
    `SELECT 1 FROM pg_class c
     WHERE lower(c.relname) = lower(?) AND c.relkind IN ('r', 'v', 'm', 'p', 'f') AND pg_table_is_visible(c.oid)
     LIMIT 1`,
    [table],
  );
  return rows.length > 0;
}

/**
 * The columns a SELECT returns, with the table and column each one is read from when PostgreSQL reports an
 * origin (plain column references, also through subqueries, CTEs and views). The query runs wrapped and
 * limited to no rows, which also refuses anything but a single SELECT.
 */
export async function pgDescribeQuery(
  query: RawQuery,
  select: string,
): Promise<{ name: string; table: string | null; column: string | null }[]> {
  const { fields } = await query(`SELECT * FROM (${select}\n) AS "_basalt_describe" LIMIT 0`);
  const tableIds = [...new Set(fields.map((f) => f.tableID).filter((id) => id > 0))];
  const origins = new Map<string, { table: string; column: string }>();
  if (tableIds.length) {
    const { rows } = await query(
      `SELECT CAST(c.oid AS BIGINT) AS tid, a.attnum AS num, c.relname AS tbl, a.attname AS col
       FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
       WHERE c.oid = ANY(CAST(? AS OID[])) AND a.attnum > 0`,
      [`{${tableIds.join(",")}}`],
    );
    for (const r of rows) {
      origins.set(`${Number(r.tid)}:${Number(r.num)}`, { table: String(r.tbl), column: String(r.col) });
    }
  }
  return fields.map((f) => {
    const origin = origins.get(`${f.tableID}:${f.columnID}`);
    return { name: f.name, table: origin?.table ?? null, column: origin?.column ?? null };
  });
}
