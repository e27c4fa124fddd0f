import type { Dialect, Sql, SqlValue } from "../db/index.js";
import type { CompiledFilter } from "./compile-filter.js";
import type { CompiledSort } from "./compile-sort.js";

/** Options of buildSelect / buildCount. */
export interface BuildSelectOptions {
  readonly dialect: Dialect;
  /** The collection's table name (from the schema). */
  readonly table: string;
  readonly alias: string;
  /** The select list, e.g. `"r".*`. */
  readonly columns: string;
  /** Conditions ANDed together (rule filter, client filter, extra conditions). */
  readonly filters: readonly CompiledFilter[];
  readonly sort?: CompiledSort;
  /**
   * A full-text search (issue 18): its join and condition go into the outer query, whatever the filters'
   * joins do, so its relevance can be sorted on there.
   */
  readonly search?: { readonly join: Sql | null; readonly where: Sql };
  readonly limit?: number;
  readonly offset?: number;
}

function sameSql(a: Sql, b: Sql): boolean {
  return (
    a.sql === b.sql && a.params.length === b.params.length && a.params.every((p, i) => p === b.params[i])
  );
}

function uniqueJoins(filters: readonly CompiledFilter[]): Sql[] {
  const out: Sql[] = [];
  for (const f of filters) for (const j of f.joins) if (!out.some((o) => sameSql(o, j))) out.push(j);
  return out;
}

interface Parts {
  from: string;
  params: SqlValue[];
}

/** `FROM … WHERE …` for the filters; joins that fan rows out go into an `id IN (…)` subquery. */
function fromWhere(opts: BuildSelectOptions, sortJoins: readonly Sql[]): Parts {
  const d = opts.dialect;
  const q = d.quoteIdent;
  const table = `${q(opts.table)} ${q(opts.alias)}`;
  const joins = uniqueJoins(opts.filters);
  const where =
    opts.filters.length === 0
      ? d.boolLiteral(true)
      : opts.filters.map((f) => `(${f.where.sql})`).join(" AND ");
  const whereParams = opts.filters.flatMap((f) => f.where.params);
  const joinSql = (list: readonly Sql[]) => list.map((j) => ` ${j.sql}`).join("");
  const joinParams = (list: readonly Sql[]) => list.flatMap((j) => j.params);
  const search = opts.search;
  const outerJoins = search?.join ? [search.join, ...sortJoins] : sortJoins;
  const searchWhere = search ? `(${search.where.sql}) AND ` : "";
  const searchParams = search ? search.where.params : [];
  if (opts.filters.some((f) => f.distinct)) {
    const id = `${q(opts.alias)}.${q("id")}`;
    return {
      from: `FROM ${table}${joinSql(outerJoins)} WHERE ${searchWhere}${id} IN (SELECT ${id} FROM ${table}${joinSql(joins)} WHERE ${where})`,
      params: [...joinParams(outerJoins), ...searchParams, ...joinParams(joins), ...whereParams],
    };
  }
  const leading = search?.join ? [search.join] : [];
  return {
    from: `FROM ${table}${joinSql(leading)}${joinSql(joins)}${joinSql(sortJoins)} WHERE ${searchWhere}${where}`,
    params: [
      ...joinParams(leading),
      ...joinParams(joins),
      ...joinParams(sortJoins),
      ...searchParams,
      ...whereParams,
    ],
  };
}

/**
 * Assembles a records query from compiled filters and sort, with parameters in textual order. Joins that
 * can repeat a record are confined to an `id IN (subquery)`, so no DISTINCT is needed and ORDER BY may
 * use any column on both engines.
 */
export function buildSelect(opts: BuildSelectOptions): Sql {
  const parts = fromWhere(opts, opts.sort?.joins ?? []);
  let sql = `SELECT ${opts.columns} ${parts.from}`;
  const params = parts.params;
  if (opts.sort?.orderBy) {
    sql += ` ORDER BY ${opts.sort.orderBy}`;
    params.push(...opts.sort.params);
  }
  if (opts.limit !== undefined || opts.offset !== undefined) {
    sql += " LIMIT ?";
    params.push(opts.limit ?? Number.MAX_SAFE_INTEGER);
    if (opts.offset !== undefined) {
      sql += " OFFSET ?";
      params.push(opts.offset);
    }
  }
  return { sql, params };
}

/** The `SELECT COUNT(*) AS "count"` twin of buildSelect (sort, limit and offset ignored). */
export function buildCount(opts: Omit<BuildSelectOptions, "columns" | "sort" | "limit" | "offset">): Sql {
  const parts = fromWhere({ ...opts, columns: "" }, []);
  return {
    sql: `SELECT COUNT(*) AS ${opts.dialect.quoteIdent("count")} ${parts.from}`,
    params: parts.params,
  };
}

/** Wraps a hand-written condition (e.g. `"r"."id" = ?`) so it can be passed among compiled filters. */
export function sqlFilter(where: Sql): CompiledFilter {
  return { joins: [], where, distinct: false };
}
