import type { Dialect, Sql, SqlValue } from "../db/index.js";
import {
  aliasPrefix,
  bindShapeSql,
  cachedShape,
  checkClientText,
  checkShapeLimits,
  type FilterLimits,
  newCompiler,
  type Shape,
  syncSchemaVersion,
} from "./compile-filter.js";
import { type BindContext, countJoins, finalizeSql, hasParams, Scope } from "./context.js";
import { FilterError, FilterForbiddenError } from "./errors.js";
import type { RequestInfo } from "./request.js";
import { resolveIdent } from "./resolve.js";
import type { RuleCollection, RuleSchema } from "./schema.js";

/** PocketBase's limit on sort expressions. */
export const MAX_SORT_KEYS = 8;

/** Options of compileSort. */
export interface CompileSortOptions {
  readonly dialect: Dialect;
  readonly schema: RuleSchema;
  readonly collection: RuleCollection;
  readonly alias: string;
  /** Comma-separated keys: `-created,title,@random,@rowid,author.name`. */
  readonly text: string;
  readonly request: RequestInfo;
  readonly isSuperuser: boolean;
  readonly schemaVersion?: number;
  /** Fan-out and join limits (client sorts). */
  readonly limits?: FilterLimits;
}

/** A compiled sort: joins it needs (single relations only), the ORDER BY list, and that list's params. */
export interface CompiledSort {
  readonly joins: readonly Sql[];
  /** The terms after `ORDER BY`, or "" when there is no sort. */
  readonly orderBy: string;
  readonly params: readonly SqlValue[];
}

function compileSortShape(opts: CompileSortOptions): Shape {
  const keys = opts.text.split(",").map((k) => k.trim());
  if (keys.length > MAX_SORT_KEYS) throw new FilterError(`more than ${MAX_SORT_KEYS} sort expressions`);
  const d = opts.dialect;
  const c = newCompiler(
    opts.dialect,
    opts.schema,
    opts.request,
    aliasPrefix("s", opts.collection, opts.text),
  );
  const scope = new Scope(opts.collection, opts.alias, !opts.isSuperuser);
  const terms: string[] = [];
  for (const key of keys) {
    const desc = key.startsWith("-");
    const name = desc || key.startsWith("+") ? key.slice(1) : key;
    if (name === "@random") {
      terms.push(d.randomOrder());
      continue;
    }
    if (name === "@rowid") {
      terms.push(d.orderTerm(d.rowOrder(opts.alias), desc));
      continue;
    }
    if (!/^[@\w][\w.:]*$/.test(name) || /^(null|true|false)$/i.test(name))
      throw new FilterError(`invalid sort field ${JSON.stringify(name)}`);
    const val = resolveIdent(c, scope, name);
    // Sorting needs one plain value per record: no parameters, no NULL keyword, no row fan-out.
    if (val.type === "null" || hasParams(val.sql) || val.fansOut || val.multi) {
      throw new FilterError(`invalid sort field ${JSON.stringify(name)}`);
    }
    let expr = val.type === "text" ? d.collateBinary(val.sql) : val.sql;
    if (val.guard) expr = `(CASE WHEN ${val.guard} THEN ${expr} END)`;
    terms.push(d.orderTerm(expr, desc));
  }
  if (scope.fansOut) throw new FilterError("sorting through multiple relations is not supported");
  const joins = [...scope.joins.values()];
  return {
    joins: joins.map(finalizeSql),
    where: finalizeSql(""),
    orderBy: finalizeSql(terms.join(", ")),
    distinct: false,
    slots: c.slots,
    probes: c.probes,
    fanout: c.maxFanout,
    joinCount: Math.max(countJoins(joins), c.maxSubqueryJoins),
  };
}

/**
 * Compiles a `sort` parameter (PocketBase's syntax, at most 8 keys). Non-superusers may not sort by hidden
 * fields or through relations whose list rule they fail, and may not use `@request.*`/`@collection.*` (403).
 */
export function compileSort(opts: CompileSortOptions): CompiledSort {
  if (!opts.text) return { joins: [], orderBy: "", params: [] };
  if (!opts.isSuperuser) checkClientText(opts.text);
  syncSchemaVersion(opts.schemaVersion);
  const key = `s\u0000${opts.dialect.name}\u0000${opts.collection.id}\u0000${opts.alias}\u0000${opts.isSuperuser ? 1 : 0}\u0000${opts.text}`;
  let shape: Shape;
  try {
    shape = cachedShape(key, opts.request, () => compileSortShape(opts));
  } catch (err) {
    if (err instanceof FilterError || err instanceof FilterForbiddenError) throw err;
    throw new FilterError("invalid sort");
  }
  checkShapeLimits(shape, opts.limits);
  const ctx: BindContext = { request: opts.request, now: new Date() };
  const order = shape.orderBy
    ? bindShapeSql(opts.dialect, shape, shape.orderBy, ctx)
    : { sql: "", params: [] };
  return {
    joins: shape.joins.map((j) => bindShapeSql(opts.dialect, shape, j, ctx)),
    orderBy: order.sql,
    params: order.params,
  };
}
