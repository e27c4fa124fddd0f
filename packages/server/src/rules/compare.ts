import type { CompareOp } from "./ast.js";
import type { Compiler, Slot, Val, ValueType } from "./context.js";
import { toNumberValue } from "./resolve.js";

function toTextValue(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "boolean") return value ? "1" : "0";
  return String(value);
}

function mapVal(v: Val, fn: (x: Val) => Val): Val {
  const out = fn(v);
  if (!v.multi) return out;
  return { ...out, multi: { from: v.multi.from, value: fn(v.multi.value) } };
}

/** Converts an operand to another static type: params in JS at bind time, expressions through the dialect. */
function coerce(c: Compiler, v: Val, to: ValueType): Val {
  if (v.type === to || v.type === "null" || to === "null") return v;
  const d = c.dialect;
  if (v.type === "json" && v.json) {
    const as = to === "number" ? "number" : to === "bool" ? "bool" : "text";
    return mapVal(v, (x) =>
      x.json ? { ...x, sql: d.jsonExtractAs(x.json.expr, x.json.path, as), type: to } : x,
    );
  }
  if (v.slot !== undefined && !v.multi && to !== "json") {
    const base: Slot = c.slots[v.slot];
    const convert = to === "number" ? toNumberValue : to === "text" ? toTextValue : (x: unknown) => x;
    const p = c.param(to, (ctx) => convert(base(ctx)) as ReturnType<Slot>);
    // A slot wrapped in a function (LOWER) keeps its shape; only a bare parameter is swapped.
    const bare = v.sql === c.placeholder(v.type as Exclude<ValueType, "null">, v.slot);
    if (bare) return { ...v, sql: p.sql, slot: p.slot, type: to };
  }
  return mapVal(v, (x) => {
    let sql = x.sql;
    if (to === "number") sql = x.type === "bool" ? d.boolToNumber(sql) : d.textToNumber(sql);
    else if (to === "text") sql = x.type === "bool" ? d.castText(d.boolToNumber(sql)) : d.castText(sql);
    return { ...x, sql, type: to, slot: undefined };
  });
}

/** Brings both operands to one static type, following SQLite's affinity rules where PocketBase relies on them. */
function unify(c: Compiler, l: Val, r: Val): [Val, Val] {
  if (l.type === r.type || l.type === "null" || r.type === "null") return [l, r];
  if (l.type === "json") return [coerce(c, l, r.type), r];
  if (r.type === "json") return [l, coerce(c, r, l.type)];
  const types = new Set([l.type, r.type]);
  if (types.has("text")) {
    const [text, other] = l.type === "text" ? [l, r] : [r, l];
    // A text column compared with a non-column number/bool reads that value as text; otherwise numbers win.
    const toText = text.column && !other.column;
    const nl = coerce(c, l, toText ? "text" : "number");
    const nr = coerce(c, r, toText ? "text" : "number");
    return [nl, nr];
  }
  return [coerce(c, l, "number"), coerce(c, r, "number")];
}

function commonType(l: Val, r: Val): ValueType {
  return l.type === "null" ? r.type : l.type;
}

function emptyTest(x: Val, type: ValueType, eq: boolean): string {
  if (type === "text")
    return eq ? `(${x.sql} = '' OR ${x.sql} IS NULL)` : `(${x.sql} <> '' AND ${x.sql} IS NOT NULL)`;
  return eq ? `(${x.sql} IS NULL)` : `(${x.sql} IS NOT NULL)`;
}

/** `=` / `!=` with PocketBase's null/"" folding (tools/search/filter.go resolveEqualExpr). */
function equalExpr(c: Compiler, l: Val, r: Val, eq: boolean): string {
  const d = c.dialect;
  if (l.noCoalesce || r.noCoalesce) return d.nullSafeEq(l.sql, r.sql, !eq);
  const type = commonType(l, r);
  if (l.empty && r.empty) return d.boolLiteral(eq);
  if (l.empty) return emptyTest(r, type, eq);
  if (r.empty) return emptyTest(l, type, eq);
  if (l.nonEmpty || r.nonEmpty) return eq ? `${l.sql} = ${r.sql}` : d.nullSafeEq(l.sql, r.sql, true);
  if (type === "text") {
    return `COALESCE(${l.sql}, '') ${eq ? "=" : "<>"} COALESCE(${r.sql}, '')`;
  }
  return d.nullSafeEq(l.sql, r.sql, !eq);
}

function escapeUnescaped(value: string): string {
  // Walks backwards like PocketBase's escapeUnescapedChars: a `\\`, `%` or `_` gains a backslash unless one
  // already precedes it (and that backslash is then consumed as its escape).
  const chars = [...value];
  const out: string[] = [];
  let pending = false;
  for (let i = chars.length - 1; i >= 0; i--) {
    const ch = chars[i];
    if (pending) {
      if (ch !== "\\") out.push("\\");
      pending = false;
    } else if (ch === "\\" || ch === "%" || ch === "_") {
      pending = true;
    }
    out.push(ch);
    if (i === 0 && pending) out.push("\\");
  }
  return out.reverse().join("");
}

function hasUnescapedPercent(value: string): boolean {
  let prev = "";
  for (const ch of value) {
    if (ch === "%" && prev !== "\\") return true;
    prev = ch === "\\" && prev === "\\" ? "" : ch;
  }
  return false;
}

/** `~` semantics: wrap in `%…%` with `%`/`_` escaped, unless the value already holds an unescaped `%`. */
export function likePattern(value: string): string {
  return hasUnescapedPercent(value) ? value : `%${escapeUnescaped(value)}%`;
}

function likeExpr(c: Compiler, l: Val, r: Val, negate: boolean): string {
  const d = c.dialect;
  if (r.slot !== undefined) {
    const base = c.slots[r.slot];
    const p = c.param("text", (ctx) => {
      const v = base(ctx);
      return v === null ? null : likePattern(String(v));
    });
    const sql = r.sql.replace(c.placeholder(r.type as Exclude<ValueType, "null">, r.slot), p.sql);
    return d.like(l.sql, sql, negate);
  }
  return d.like(l.sql, `('%' || ${r.sql} || '%')`, negate);
}

/** Builds one comparison of two already-unified operands, without the multi-match part. */
function plainCompare(c: Compiler, l: Val, op: CompareOp, r: Val): string {
  switch (op) {
    case "=":
      return equalExpr(c, l, r, true);
    case "!=":
      return equalExpr(c, l, r, false);
    case "~":
      return likeExpr(c, l, r, false);
    case "!~":
      return likeExpr(c, l, r, true);
    default: {
      const text = l.type === "text" && r.type === "text";
      const ls = text ? c.dialect.collateBinary(l.sql) : l.sql;
      const rs = text ? c.dialect.collateBinary(r.sql) : r.sql;
      return `${ls} ${op} ${rs}`;
    }
  }
}

function inner(v: Val, alias: string, c: Compiler): Val {
  return {
    sql: `${c.q(alias)}.${c.q("mmv")}`,
    type: v.type,
    column: v.column,
    empty: false,
    nonEmpty: false,
    noCoalesce: v.noCoalesce,
  };
}

/**
 * An operand with its guard folded in: where the guard fails (an auth e-mail the caller may not see) the
 * value reads as NULL, so nothing compared with it can depend on the hidden data.
 */
function guarded(v: Val): Val {
  if (!v.guard) return v;
  return { ...v, sql: `(CASE WHEN ${v.guard} THEN ${v.sql} END)`, guard: undefined, slot: undefined };
}

function subquery(c: Compiler, v: Val): string {
  // Every related value takes part in the match-all test, so each one carries its own row's guard.
  const value = v.multi ? guarded(v.multi.value) : undefined;
  return `(SELECT ${value?.sql} AS ${c.q("mmv")}${v.multi?.from})`;
}

function manyVsOne(c: Compiler, many: Val, op: CompareOp, other: Val, inverse: boolean): string {
  const a = c.alias();
  const mv = inner(many, a, c);
  const o: Val = { ...other, multi: undefined, guard: undefined };
  const test = inverse ? plainCompare(c, o, op, mv) : plainCompare(c, mv, op, o);
  const cond = op === "=" ? `NOT (${test})` : `(NOT (${test}) OR ${mv.sql} IS NULL)`;
  return `NOT EXISTS (SELECT 1 FROM ${subquery(c, many)} ${c.q(a)} WHERE ${cond})`;
}

function manyVsMany(c: Compiler, l: Val, op: CompareOp, r: Val): string {
  const la = c.alias();
  const ra = c.alias();
  const lv = inner(l, la, c);
  const rv = inner(r, ra, c);
  const test = plainCompare(c, lv, op, rv);
  const cond = op === "=" ? `NOT (${test})` : `(NOT (${test}) OR ${lv.sql} IS NULL OR ${rv.sql} IS NULL)`;
  return `NOT EXISTS (SELECT 1 FROM ${subquery(c, l)} ${c.q(la)} LEFT JOIN ${subquery(c, r)} ${c.q(ra)} ON ${c.dialect.boolLiteral(true)} WHERE ${cond})`;
}

/**
 * Compiles `left op right`. Without the `?` prefix, operands reaching several values (relation paths,
 * back-relations, :each, @collection) add a NOT EXISTS test so that every value must match.
 */
export function compileComparison(c: Compiler, left: Val, op: CompareOp, any: boolean, right: Val): string {
  let l = left;
  let r = right;
  if (op === "~" || op === "!~") {
    l = coerce(c, l, "text");
    r = coerce(c, r, "text");
  } else {
    [l, r] = unify(c, l, r);
  }
  let expr = plainCompare(c, l, op, r);
  if (!any) {
    if (l.multi && r.multi) expr = `(${expr} AND ${manyVsMany(c, l, op, r)})`;
    else if (l.multi) expr = `(${expr} AND ${manyVsOne(c, l, op, r, false)})`;
    else if (r.multi) expr = `(${expr} AND ${manyVsOne(c, r, op, l, true)})`;
  }
  if (l.guard) expr = `(${expr} AND ${l.guard})`;
  if (r.guard) expr = `(${expr} AND ${r.guard})`;
  return expr;
}

/** An operand read as a number (function arguments); several related values are not match-all tested. */
export function toNumberOperand(c: Compiler, v: Val): Val {
  return guarded(coerce(c, { ...v, multi: undefined }, "number"));
}

/** An operand read as text (function arguments). */
export function toTextOperand(c: Compiler, v: Val): Val {
  return guarded(coerce(c, { ...v, multi: undefined }, "text"));
}
