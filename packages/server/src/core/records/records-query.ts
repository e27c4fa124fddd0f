import type { Queryable, SearchClause, Sql, SqlValue } from "../../db/index.js";
import { badRequest } from "../../errors/index.js";
import {
  buildCount,
  buildSelect,
  type CompiledFilter,
  type CompiledSort,
  compileFilter,
  compileSort,
  type FilterLimits,
  type RequestInfo,
  type RuleCollection,
  type RuleSchema,
  sqlFilter,
} from "../../rules/index.js";
import { type Collection, searchIndexSpec } from "../collections/index.js";
import { parseSearch } from "./search-terms.js";
import type { RecordRow } from "./serialize.js";

/** The table alias every records query gives its collection. */
export const RECORD_ALIAS = "_r";

/** What a records query needs to know about the schema and the caller. */
export interface QueryContext {
  readonly q: Queryable;
  readonly schema: RuleSchema;
  readonly schemaVersion: number;
  readonly request: RequestInfo;
  readonly isSuperuser: boolean;
  /** Fan-out and join limits of the caller's own filter and sort (issue 10). */
  readonly filterLimits?: FilterLimits;
}

/** Compiles a rule (superuser-written text) for a collection, or null when there is nothing to add. */
export function ruleFilter(
  ctx: QueryContext,
  collection: Collection | RuleCollection,
  rule: string | null | undefined,
): CompiledFilter | null {
  if (ctx.isSuperuser || !rule) return null;
  return compileFilter({
    dialect: ctx.q.dialect,
    schema: ctx.schema,
    collection: collection as RuleCollection,
    alias: RECORD_ALIAS,
    text: rule,
    request: ctx.request,
    mode: "rule",
    isSuperuser: false,
    schemaVersion: ctx.schemaVersion,
  });
}

function idFilter(ctx: QueryContext, ids: readonly string[]): CompiledFilter {
  const q = ctx.q.dialect.quoteIdent;
  const col = `${q(RECORD_ALIAS)}.${q("id")}`;
  const where: Sql =
    ids.length === 1
      ? { sql: `${col} = ?`, params: [ids[0]] }
      : { sql: `${col} IN (${ids.map(() => "?").join(", ")})`, params: [...ids] };
  return sqlFilter(where);
}

/** Rows of a collection with these ids that also match a rule (none when the list is empty). */
export async function findRowsWithRule(
  ctx: QueryContext,
  collection: Collection,
  ids: readonly string[],
  rule: string | null | undefined,
  table = collection.name,
  prefix?: Sql,
): Promise<RecordRow[]> {
  if (!ids.length) return [];
  const filters = [idFilter(ctx, ids)];
  const rf = ruleFilter(ctx, collection, rule);
  if (rf) filters.push(rf);
  const sel = buildSelect({
    dialect: ctx.q.dialect,
    table,
    alias: RECORD_ALIAS,
    columns: `${ctx.q.dialect.quoteIdent(RECORD_ALIAS)}.*`,
    filters,
  });
  if (prefix) return ctx.q.all<RecordRow>(`${prefix.sql} ${sel.sql}`, [...prefix.params, ...sel.params]);
  return ctx.q.all<RecordRow>(sel.sql, sel.params);
}

/** One record by id that matches a rule, or undefined. */
export async function findRowWithRule(
  ctx: QueryContext,
  collection: Collection,
  id: string,
  rule: string | null | undefined,
): Promise<RecordRow | undefined> {
  if (!rule || ctx.isSuperuser) {
    const q = ctx.q.dialect.quoteIdent;
    return ctx.q.get<RecordRow>(`SELECT * FROM ${q(collection.name)} WHERE ${q("id")} = ?`, [id]);
  }
  return (await findRowsWithRule(ctx, collection, [id], rule))[0];
}

/** The paging and search part of a list request. */
export interface ListQuery {
  readonly page: number;
  readonly perPage: number;
  readonly skipTotal: boolean;
  readonly filter: string;
  readonly sort: string;
  /** Full-text search words (issue 18); "" for none. */
  readonly search?: string;
}

/**
 * The search clause of a list, or null when the text holds no word (it then matches nothing); a 400 when
 * the collection has no search enabled.
 */
function searchClauseOf(ctx: QueryContext, collection: Collection, text: string): SearchClause | null {
  const spec = searchIndexSpec(collection);
  if (!spec) {
    throw badRequest(
      `Full-text search is not enabled for the collection ${collection.name} (see its "search" option).`,
    );
  }
  const terms = parseSearch(text);
  return terms.words.length ? ctx.q.dialect.search.match(spec, RECORD_ALIAS, terms) : null;
}

/**
 * The ORDER BY of a search: the client's sort first when given (relevance then breaks its ties), otherwise
 * relevance, then id so pages do not overlap.
 */
function searchSort(ctx: QueryContext, search: SearchClause, sort: CompiledSort | undefined): CompiledSort {
  const id = `${ctx.q.dialect.quoteIdent(RECORD_ALIAS)}.${ctx.q.dialect.quoteIdent("id")}`;
  if (sort?.orderBy) {
    return {
      joins: sort.joins,
      orderBy: `${sort.orderBy}, ${search.rank.sql}`,
      params: [...sort.params, ...search.rank.params],
    };
  }
  return { joins: sort?.joins ?? [], orderBy: `${search.rank.sql}, ${id}`, params: [...search.rank.params] };
}

/** One page of a collection's records matching the list rule and the client filter, sorted, with the total. */
export async function listRows(
  ctx: QueryContext,
  collection: Collection,
  params: ListQuery,
): Promise<{ rows: RecordRow[]; total: number | null }> {
  const d = ctx.q.dialect;
  const search = params.search ? searchClauseOf(ctx, collection, params.search) : undefined;
  const filters: CompiledFilter[] = [];
  const rf = ruleFilter(ctx, collection, collection.listRule);
  if (rf) filters.push(rf);
  if (params.filter) {
    filters.push(
      compileFilter({
        dialect: d,
        schema: ctx.schema,
        collection: collection as RuleCollection,
        alias: RECORD_ALIAS,
        text: params.filter,
        request: ctx.request,
        mode: "client",
        isSuperuser: ctx.isSuperuser,
        schemaVersion: ctx.schemaVersion,
        limits: ctx.filterLimits,
      }),
    );
  }
  const clientSort = params.sort
    ? compileSort({
        dialect: d,
        schema: ctx.schema,
        collection: collection as RuleCollection,
        alias: RECORD_ALIAS,
        text: params.sort,
        request: ctx.request,
        isSuperuser: ctx.isSuperuser,
        schemaVersion: ctx.schemaVersion,
        limits: ctx.filterLimits,
      })
    : undefined;
  // a search with no word in it matches nothing (the filter and sort above were still checked)
  if (search === null) return { rows: [], total: params.skipTotal ? null : 0 };
  const sort = search ? searchSort(ctx, search, clientSort) : clientSort;
  const base = { dialect: d, table: collection.name, alias: RECORD_ALIAS, filters, search };
  const sel = buildSelect({
    ...base,
    columns: `${d.quoteIdent(RECORD_ALIAS)}.*`,
    sort,
    limit: params.perPage,
    offset: (params.page - 1) * params.perPage,
  });
  const rows = await ctx.q.all<RecordRow>(sel.sql, sel.params);
  if (params.skipTotal) return { rows, total: null };
  // A short first page already tells the total: no COUNT needed.
  if (params.page === 1 && rows.length < params.perPage) return { rows, total: rows.length };
  const count = buildCount(base);
  const row = await ctx.q.get<{ count: SqlValue }>(count.sql, count.params);
  return { rows, total: Number(row?.count ?? 0) };
}
