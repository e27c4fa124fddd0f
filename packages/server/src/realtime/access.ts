import type { Collection } from "../core/collections/index.js";
import { type RecordRequest, type RecordRow, type RecordsService, rowCte } from "../core/records/index.js";
import { ApiError } from "../errors/index.js";
import { buildSelect, type CompiledFilter, compileFilter, sqlFilter } from "../rules/index.js";

const ALIAS = "_rt";

/**
 * Whether a subscriber may receive an event about `row`: the collection's rule (null: superusers only) and
 * the subscription's own `filter`, both evaluated for that subscriber with `@request.context = "realtime"`,
 * against the row as the event carries it, so deletes are checked like every other action.
 */
export async function subscriberCanSee(
  records: RecordsService,
  collection: Collection,
  row: RecordRow,
  req: RecordRequest,
  rule: string | null,
  filter: string | undefined,
): Promise<boolean> {
  const su = req.auth?.isSuperuser === true;
  if (rule === null && !su) return false;
  const ctx = records.queryContext(req, undefined, "realtime");
  const base = {
    dialect: ctx.q.dialect,
    schema: ctx.schema,
    collection,
    alias: ALIAS,
    request: ctx.request,
    schemaVersion: ctx.schemaVersion,
  };
  const filters: CompiledFilter[] = [];
  try {
    if (!su && rule) filters.push(compileFilter({ ...base, text: rule, mode: "rule", isSuperuser: false }));
    if (filter?.trim())
      filters.push(
        compileFilter({ ...base, text: filter, mode: "client", isSuperuser: su, limits: ctx.filterLimits }),
      );
  } catch (err) {
    if (err instanceof ApiError) return false;
    throw err;
  }
  if (!filters.length) return true;
  const t = ctx.q.dialect.quoteIdent;
  const table = `_rt_${collection.id}`;
  filters.unshift(sqlFilter({ sql: `${t(ALIAS)}.${t("id")} = ?`, params: [String(row.id)] }));
  const prefix = rowCte(ctx.q, collection, row, table);
  const sel = buildSelect({
    dialect: ctx.q.dialect,
    table,
    alias: ALIAS,
    columns: "1 AS ok",
    filters,
    limit: 1,
  });
  const rows = await ctx.q.all(`${prefix.sql} ${sel.sql}`, [...prefix.params, ...sel.params]);
  return rows.length > 0;
}
