import type { ColumnKind, Dialect, IndexSpec } from "../dialect.js";
import { sqliteSearch } from "./search.js";

function quoteString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function jsonPath(path: readonly (string | number)[]): string {
  let out = "$";
  for (const part of path) {
    if (typeof part === "number") out += `[${Math.trunc(part)}]`;
    else out += `."${part.replaceAll('"', '""')}"`;
  }
  return quoteString(out);
}

const DEFINITIONS: Record<ColumnKind, string> = {
  id: "TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL",
  text: "TEXT DEFAULT '' NOT NULL",
  nullableText: "TEXT DEFAULT NULL",
  number: "NUMERIC DEFAULT 0 NOT NULL",
  bool: "BOOLEAN DEFAULT FALSE NOT NULL",
  json: "JSON DEFAULT NULL",
  jsonArray: "JSON DEFAULT '[]' NOT NULL",
  geoPoint: `JSON DEFAULT '{"lon":0,"lat":0}' NOT NULL`,
};

const DEFAULTS: Record<ColumnKind, string> = {
  id: "''",
  text: "''",
  nullableText: "NULL",
  number: "0",
  bool: "FALSE",
  json: "NULL",
  jsonArray: "'[]'",
  geoPoint: `'{"lon":0,"lat":0}'`,
};

/** SQL spelling for SQLite (3.38+, with JSON and math functions, as bundled by better-sqlite3). */
export const sqliteDialect: Dialect = {
  name: "sqlite",
  search: sqliteSearch,
  supportsReturning: true,
  skipLockedClause: "",
  quoteIdent: (identifier) => `"${identifier.replaceAll('"', '""')}"`,
  formatPlaceholders: (sql) => sql,
  columnDefinition: (kind) => DEFINITIONS[kind],
  columnDefault: (kind) => DEFAULTS[kind],
  createIndex(table, index: IndexSpec) {
    const q = sqliteDialect.quoteIdent;
    const cols = index.columns
      .map((c) => `${q(c.name)}${c.collate === "nocase" ? " COLLATE NOCASE" : ""}${c.desc ? " DESC" : ""}`)
      .join(", ");
    const where = index.where ? ` WHERE ${index.where}` : "";
    return `CREATE ${index.unique ? "UNIQUE " : ""}INDEX ${q(index.name)} ON ${q(table)} (${cols})${where}`;
  },
  dropIndex: (_table, indexName) => `DROP INDEX IF EXISTS ${sqliteDialect.quoteIdent(indexName)}`,
  convertColumn(expr, from, to) {
    if (from === to) return expr;
    if (from === "text" && to === "jsonArray")
      return `(CASE WHEN ${expr} = '' THEN '[]' ELSE json_array(${expr}) END)`;
    if (from === "jsonArray" && to === "text") {
      return `COALESCE((CASE WHEN json_valid(${expr}) THEN json_extract(${expr}, '$[#-1]') END), '')`;
    }
    if (from === "text" && to === "json")
      return `(CASE WHEN json_valid(${expr}) THEN ${expr} ELSE json_quote(${expr}) END)`;
    if (from === "jsonArray" && to === "json") return expr;
    return null;
  },
  jsonExtract: (expr, path) => `json_extract(${expr}, ${jsonPath(path)})`,
  jsonExtractText: (expr, path) => `json_extract(${expr}, ${jsonPath(path)})`,
  jsonArrayLength: (expr) =>
    `(CASE WHEN json_valid(${expr}) AND json_type(${expr}) = 'array' THEN json_array_length(${expr}) WHEN ${expr} IS NULL OR ${expr} = '' THEN 0 ELSE 1 END)`,
  jsonEach: (expr, alias) =>
    `json_each(CASE WHEN json_valid(${expr}) AND json_type(${expr}) = 'array' THEN ${expr} ELSE json_array(${expr}) END) ${sqliteDialect.quoteIdent(alias)}`,
  jsonEachValue: (alias) => `${sqliteDialect.quoteIdent(alias)}.value`,
  jsonIsArray: (expr) => `(json_valid(${expr}) AND json_type(${expr}) = 'array')`,
  like: (expr, pattern, negate) => `${expr} ${negate ? "NOT LIKE" : "LIKE"} ${pattern} ESCAPE '\\'`,
  lower: (expr) => `LOWER(${expr})`,
  // `LOWER(column) = ?` cannot use the NOCASE index; comparing in the index's collation can
  equalsNoCase: (column, param) => `${column} = ${param} COLLATE NOCASE`,
  castNumber: (expr) => `CAST(${expr} AS NUMERIC)`,
  castText: (expr) => `CAST(${expr} AS TEXT)`,
  randomOrder: () => "RANDOM()",
  rowOrder: (tableAlias) => `${sqliteDialect.quoteIdent(tableAlias)}.rowid`,
  strftime: (format, time, modifiers) => `strftime(${[format, time, ...modifiers].join(", ")})`,
  geoDistance: (lonA, latA, lonB, latB) =>
    `(6371 * acos(min(1.0, max(-1.0, cos(radians(${latA})) * cos(radians(${latB})) * cos(radians(${lonB}) - radians(${lonA})) + sin(radians(${latA})) * sin(radians(${latB}))))))`,
  boolLiteral: (value) => (value ? "TRUE" : "FALSE"),
  // basalt_tick() (see driver.ts) throws once a bounded read's deadline has passed
  joinCheck: " AND basalt_tick()",
  typedParam: () => "?",
  bindValue: (value) => value,
  jsonExtractAs: (expr, path) => `json_extract(${expr}, ${jsonPath(path)})`,
  // SQLite's column affinity already converts numeric-looking text when compared with a number column.
  textToNumber: (expr) => expr,
  boolToNumber: (expr) => expr,
  nullSafeEq: (left, right, negate) => `${left} ${negate ? "IS NOT" : "IS"} ${right}`,
  collateBinary: (expr) => expr,
  orderTerm: (expr, desc) => `${expr} ${desc ? "DESC" : "ASC"}`,
  jsonArrayText: (expr) => expr,
  strftimeFormat: (format) => format,
  strftimeModifier: (modifier) =>
    /^[+-]?\d+(\.\d+)? (second|minute|hour|day|month|year)s?$/i.test(modifier) ||
    /^start of (day|month|year)$/i.test(modifier) ||
    /^weekday [0-6]$/i.test(modifier)
      ? modifier
      : null,
};
