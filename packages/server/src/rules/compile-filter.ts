import type { Dialect, Sql } from "../db/index.js";
import { LimitError } from "../errors/index.js";
import { crc32 } from "../util/index.js";
import type { FilterExpr, Operand } from "./ast.js";
import { compileComparison, toNumberOperand, toTextOperand } from "./compare.js";
import {
  type BindContext,
  bindSlots,
  Compiler,
  countJoins,
  finalizeSql,
  type Probe,
  Scope,
  type Slot,
  type SlotSql,
  type Val,
} from "./context.js";
import { FilterError, FilterForbiddenError } from "./errors.js";
import { parseFilter } from "./parser.js";
import type { RequestInfo } from "./request.js";
import { constVal, resolveIdent } from "./resolve.js";
import type { RuleCollection, RuleSchema } from "./schema.js";

/** A compiled filter ready to AND into a records query: its joins, its condition, and whether rows may repeat. */
export interface CompiledFilter {
  /** Full `LEFT JOIN … ON …` fragments, in order. */
  readonly joins: readonly Sql[];
  /** A boolean expression over the base alias and the joins. */
  readonly where: Sql;
  /** True when a join can yield several rows per record (the query must deduplicate). */
  readonly distinct: boolean;
}

/** Options of compileFilter. */
export interface CompileFilterOptions {
  readonly dialect: Dialect;
  readonly schema: RuleSchema;
  readonly collection: RuleCollection;
  /** The alias the records query gives the collection's table. */
  readonly alias: string;
  /** Filter or rule text; empty means no condition. */
  readonly text: string;
  readonly request: RequestInfo;
  /** `rule`: written by a superuser (hidden fields allowed); `client`: a `filter` query parameter. */
  readonly mode: "rule" | "client";
  readonly isSuperuser: boolean;
  /** When given and different from the last one seen, every cached compile is dropped first. */
  readonly schemaVersion?: number;
  /** Fan-out and join limits (client filters). */
  readonly limits?: FilterLimits;
}

/** A compiled shape: SQL text that is stable for every request of the same value classes. */
export interface Shape {
  readonly joins: readonly SlotSql[];
  readonly where: SlotSql;
  readonly orderBy?: SlotSql;
  readonly distinct: boolean;
  readonly slots: readonly Slot[];
  readonly probes: readonly Probe[];
  /** The most multi-valued relation hops one path takes. */
  readonly fanout: number;
  /** The most tables joined in one FROM: the query's own joins, or one subquery's. */
  readonly joinCount: number;
}

/** Work limits of a client filter or sort (issue 10); absent for rules, which superusers write. */
export interface FilterLimits {
  /** Multi-valued relation hops (back-relations, multiple relations) one path may take. */
  readonly maxFanout: number;
  /** Joined tables the whole filter or sort may need. */
  readonly maxJoins: number;
}

/** Refuses a compiled shape that exceeds the limits (checked on every use, so cached shapes obey them). */
export function checkShapeLimits(shape: Shape, limits: FilterLimits | undefined): void {
  if (!limits) return;
  if (shape.fanout > limits.maxFanout) {
    throw new LimitError(
      "BASALT_ERR_LIMIT_FANOUT",
      `At most ${limits.maxFanout} back-relation or multiple-relation steps are allowed in one field path (--filter-max-fanout).`,
    );
  }
  if (shape.joinCount > limits.maxJoins) {
    throw new LimitError(
      "BASALT_ERR_LIMIT_JOINS",
      `At most ${limits.maxJoins} joined tables are allowed; this one needs ${shape.joinCount} (--filter-max-joins).`,
    );
  }
}

const SHAPE_CACHE_MAX = 2000;
const PARSE_CACHE_MAX = 2000;
const VARIANTS_MAX = 16;
const shapeCache = new Map<string, Shape[]>();
const parseCache = new Map<string, FilterExpr>();
let cachedSchemaVersion: number | undefined;
const cacheCounts = { hits: 0, misses: 0 };
const compileObservers = new Set<RuleCompileObserver>();

/**
 * Told when a filter or rule is compiled (a cache miss); the function it returns, if any, is called when the
 * compile ends, with the error if it failed (for tracing spans).
 */
export type RuleCompileObserver = (collection: string) => ((error?: unknown) => void) | undefined;

/** Registers a compile observer; returns the function that removes it. */
export function observeRuleCompiles(observer: RuleCompileObserver): () => void {
  compileObservers.add(observer);
  return () => compileObservers.delete(observer);
}

/** Cache hits and misses of compiled filters and rules since the process started (for metrics). */
export function rulesCacheStats(): { hits: number; misses: number } {
  return { ...cacheCounts };
}

/** Drops every cached parse and compile (call when any collection or rule changes). */
export function clearRulesCache(): void {
  shapeCache.clear();
  parseCache.clear();
}

/** Checks a schema version against the cache's, clearing it when they differ. */
export function syncSchemaVersion(version: number | undefined): void {
  if (version === undefined || version === cachedSchemaVersion) return;
  cachedSchemaVersion = version;
  clearRulesCache();
}

/** Parses with a bounded cache keyed by text. */
export function parseCached(text: string): FilterExpr {
  let expr = parseCache.get(text);
  if (!expr) {
    expr = parseFilter(text);
    if (parseCache.size >= PARSE_CACHE_MAX) parseCache.delete(parseCache.keys().next().value as string);
    parseCache.set(text, expr);
  }
  return expr;
}

/** Looks a shape up for this request, or compiles and caches one. */
export function cachedShape(key: string, request: RequestInfo, compile: () => Shape): Shape {
  const variants = shapeCache.get(key);
  if (variants) {
    for (const shape of variants) {
      if (shape.probes.every((p) => p.read(request) === p.cls)) {
        if (variants.length === 1) {
          // keep recently used keys at the end so the oldest is evicted first
          shapeCache.delete(key);
          shapeCache.set(key, variants);
        }
        cacheCounts.hits++;
        return shape;
      }
    }
  }
  cacheCounts.misses++;
  const shape = compileObservers.size ? observedCompile(key, compile) : compile();
  if (variants) {
    if (variants.length >= VARIANTS_MAX) variants.shift();
    variants.push(shape);
  } else {
    if (shapeCache.size >= SHAPE_CACHE_MAX) shapeCache.delete(shapeCache.keys().next().value as string);
    shapeCache.set(key, [shape]);
  }
  return shape;
}

function observedCompile(key: string, compile: () => Shape): Shape {
  // keys read `kind, dialect, collection id, …` (see compileFilter and compileSort)
  const collection = key.split("\u0000", 3)[2] ?? "";
  const ends: ((error?: unknown) => void)[] = [];
  for (const o of compileObservers) {
    const end = o(collection);
    if (end) ends.push(end);
  }
  try {
    const shape = compile();
    for (const end of ends) end();
    return shape;
  } catch (err) {
    for (const end of ends) end(err);
    throw err;
  }
}

/** The number of cached compile keys (for tests and the bench). */
export function rulesCacheSize(): number {
  return shapeCache.size;
}

/** Binds a shape's fragment for one request. */
export function bindShapeSql(dialect: Dialect, shape: Shape, sql: SlotSql, ctx: BindContext): Sql {
  return { sql: sql.sql, params: bindSlots(sql, shape.slots, ctx).map(dialect.bindValue) };
}

/** The alias prefix for one compile: distinct per mode and text so two compiled filters never collide. */
export function aliasPrefix(kind: string, collection: RuleCollection, text: string): string {
  return `_${kind}${crc32(`${collection.id}\u0000${text}`).toString(36)}_`;
}

function operandVal(c: Compiler, scope: Scope, op: Operand): Val {
  switch (op.kind) {
    case "text":
      return constVal(c, op.value);
    case "number":
      return constVal(c, op.value);
    case "ident":
      return resolveIdent(c, scope, op.name);
    case "call":
      return callVal(c, scope, op.name, op.args);
  }
}

function callVal(c: Compiler, scope: Scope, name: string, args: readonly Operand[]): Val {
  const d = c.dialect;
  if (name === "geoDistance") {
    if (args.length !== 4) c.fail(`[geoDistance] expected 4 arguments, got ${args.length}`);
    const sqls = args.map((a, i) => {
      if (a.kind !== "ident" && a.kind !== "number")
        c.fail(`[geoDistance] argument ${i} must be an identifier or number`);
      return toNumberOperand(c, operandVal(c, scope, a)).sql;
    });
    return {
      sql: d.geoDistance(sqls[0], sqls[1], sqls[2], sqls[3]),
      type: "number",
      column: false,
      empty: false,
      nonEmpty: false,
      noCoalesce: true,
    };
  }
  if (name === "strftime") {
    if (args.length < 2) c.fail("[strftime] expected a format and a time value");
    const [format, time, ...mods] = args;
    if (format.kind !== "text") c.fail("[strftime] the format must be a quoted text");
    const fmt = d.strftimeFormat(format.value);
    if (fmt === null) c.fail("[strftime] unsupported format");
    const fmtSql = c.param("text", () => fmt).sql;
    const timeSql = toTextOperand(c, operandVal(c, scope, time)).sql;
    const modSqls = mods.map((m) => {
      if (m.kind !== "text") c.fail("[strftime] modifiers must be quoted texts");
      const mod = d.strftimeModifier(m.value);
      if (mod === null) c.fail(`[strftime] unsupported modifier ${JSON.stringify(m.value)}`);
      return c.param("text", () => mod).sql;
    });
    return {
      sql: d.strftime(fmtSql, timeSql, modSqls),
      type: "text",
      column: false,
      empty: false,
      nonEmpty: false,
      noCoalesce: false,
    };
  }
  return c.fail(`unknown function ${JSON.stringify(name)}`);
}

/** Compiles an expression tree into a boolean SQL condition (with parameter markers) on `scope`. */
export function compileExpr(c: Compiler, scope: Scope, expr: FilterExpr): string {
  if (expr.kind === "cmp") {
    const left = operandVal(c, scope, expr.left);
    const right = operandVal(c, scope, expr.right);
    return compileComparison(c, left, expr.op, expr.any, right);
  }
  const joiner = expr.kind === "and" ? " AND " : " OR ";
  return `(${expr.items.map((e) => compileExpr(c, scope, e)).join(joiner)})`;
}

/** A compiler whose nested list-rule compiles share its parameters and aliases. */
export function newCompiler(
  dialect: Dialect,
  schema: RuleSchema,
  request: RequestInfo,
  prefix: string,
): Compiler {
  const c = new Compiler(dialect, schema, request, prefix);
  c.nested = (scope, text) => compileExpr(c, scope, parseCached(text));
  return c;
}

const SUPERUSER_ONLY = ["@collection.", "@request."];

/** PocketBase's loose check: a non-superuser's filter or sort text may not mention these at all (403). */
export function checkClientText(text: string): void {
  for (const marker of SUPERUSER_ONLY) {
    if (text.includes(marker)) throw new FilterForbiddenError(`Only superusers can filter by ${marker}`);
  }
}

function compileFilterShape(opts: CompileFilterOptions): Shape {
  const restricted = opts.mode === "client" && !opts.isSuperuser;
  const expr = parseCached(opts.text);
  const c = newCompiler(
    opts.dialect,
    opts.schema,
    opts.request,
    aliasPrefix(opts.mode[0], opts.collection, opts.text),
  );
  const scope = new Scope(opts.collection, opts.alias, restricted);
  const where = compileExpr(c, scope, expr);
  const joins = [...scope.joins.values()];
  return {
    // the join check lets a bounded read stop a join that multiplies rows (issue 10)
    joins: joins.map((j) => finalizeSql(`${j}${opts.dialect.joinCheck}`)),
    where: finalizeSql(where),
    distinct: scope.fansOut,
    slots: c.slots,
    probes: c.probes,
    fanout: c.maxFanout,
    joinCount: Math.max(countJoins(joins), c.maxSubqueryJoins),
  };
}

const TRUE_FILTER = (dialect: Dialect): CompiledFilter => ({
  joins: [],
  where: { sql: dialect.boolLiteral(true), params: [] },
  distinct: false,
});

/**
 * Compiles filter or rule text for one request into SQL joins and a condition. The SQL shape is cached by
 * collection, text, mode and the classes of the request values it reads; values are bound per call.
 * Throws FilterError (400) for bad or unknown input and FilterForbiddenError (403) for client texts that
 * reach `@collection.*`/`@request.*` without superuser rights.
 */
export function compileFilter(opts: CompileFilterOptions): CompiledFilter {
  if (!opts.text) return TRUE_FILTER(opts.dialect);
  if (opts.mode === "client" && !opts.isSuperuser) checkClientText(opts.text);
  syncSchemaVersion(opts.schemaVersion);
  const key = `f\u0000${opts.dialect.name}\u0000${opts.collection.id}\u0000${opts.alias}\u0000${opts.mode}\u0000${opts.isSuperuser ? 1 : 0}\u0000${opts.text}`;
  let shape: Shape;
  try {
    shape = cachedShape(key, opts.request, () => compileFilterShape(opts));
  } catch (err) {
    if (err instanceof FilterError || err instanceof FilterForbiddenError) throw err;
    // Anything unexpected still answers 400, never a 500 with internals.
    throw new FilterError("invalid filter", {}, undefined);
  }
  checkShapeLimits(shape, opts.limits);
  const ctx: BindContext = { request: opts.request, now: new Date() };
  return {
    joins: shape.joins.map((j) => bindShapeSql(opts.dialect, shape, j, ctx)),
    where: bindShapeSql(opts.dialect, shape, shape.where, ctx),
    distinct: shape.distinct,
  };
}
