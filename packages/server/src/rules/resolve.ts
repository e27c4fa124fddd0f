import { type Compiler, type MultiMatch, Scope, type Val, type ValueType } from "./context.js";
import { DATE_MACROS } from "./macros.js";
import { classify, isMissing, lookupRequest, type RequestInfo, toList, toParam } from "./request.js";
import {
  fieldByName,
  hasUniqueIndexOn,
  isMultiple,
  isMultiValuer,
  type RuleCollection,
  type RuleField,
} from "./schema.js";

/** Relation hops a field path may take (PocketBase's maxNestedRels). */
export const MAX_NESTED_RELATIONS = 6;

// PocketBase's allowed identifier shapes (core/record_field_resolver.go).
const ALLOWED = [
  /^\w+[\w.:]*$/,
  /^@request\.context$/,
  /^@request\.method$/,
  /^@request\.auth\.[\w.:]*\w+$/,
  /^@request\.body\.[\w.:]*\w+$/,
  /^@request\.query\.[\w.:]*\w+$/,
  /^@request\.headers\.[\w.:]*\w+$/,
  /^@collection\.\w+(:\w+)?\.[\w.:]*\w+$/,
];

const MODIFIERS = new Set(["isset", "each", "length", "lower", "changed"]);
const PLAIN_AUTH_FIELDS = new Set([
  "id",
  "collectionId",
  "collectionName",
  "email",
  "emailVisibility",
  "verified",
]);
const VIA_RE = /^(\w+)_via_(\w+)$/;

/** Splits `name:modifier`; a name with more than one `:` is returned whole (and will not resolve). */
function splitModifier(c: Compiler, prop: string): [string, string] {
  const parts = prop.split(":");
  if (parts.length !== 2) return [prop, ""];
  if (!MODIFIERS.has(parts[1])) c.fail(`unknown modifier in ${JSON.stringify(prop)}`);
  return [parts[0], parts[1]];
}

const NULL_VAL: Val = {
  sql: "NULL",
  type: "null",
  column: false,
  empty: true,
  nonEmpty: false,
  noCoalesce: false,
};

/** The NULL literal operand. */
export function nullVal(): Val {
  return NULL_VAL;
}

/** A constant (literal) operand, bound as a parameter. */
export function constVal(c: Compiler, value: string | number | boolean): Val {
  const type: ValueType = typeof value === "string" ? "text" : typeof value === "number" ? "number" : "bool";
  const p = c.param(type, () => value);
  return {
    sql: p.sql,
    slot: p.slot,
    type,
    column: false,
    empty: value === "",
    nonEmpty: value !== "",
    noCoalesce: false,
  };
}

/** Where a path walk stands: the current collection, its alias, and the multi-match subquery built so far. */
interface Walk {
  collection: RuleCollection;
  alias: string;
  mmAlias: string;
  mmBase: string;
  mmJoins: string[];
  withMulti: boolean;
  allowHidden: boolean;
  nullify: boolean;
  fansOut: boolean;
  /** Multi-valued relation hops taken so far on this path (issue 10's fan-out limit). */
  multiHops: number;
}

function startWalk(c: Compiler, scope: Scope, system: boolean): Walk {
  const mmBase = c.alias();
  return {
    collection: scope.collection,
    alias: scope.alias,
    mmAlias: mmBase,
    mmBase,
    mmJoins: [],
    withMulti: false,
    allowHidden: system || !scope.restricted,
    nullify: false,
    fansOut: false,
    multiHops: 0,
  };
}

/** Marks a hop that can yield several rows per record. */
function fanOut(c: Compiler, scope: Scope, w: Walk): void {
  w.withMulti = true;
  w.fansOut = true;
  scope.fansOut = true;
  w.multiHops += 1;
  c.noteFanout(w.multiHops);
}

function multiFrom(c: Compiler, scope: Scope, w: Walk): string {
  const q = c.q.bind(c);
  c.noteJoins(w.mmJoins);
  const joins = w.mmJoins.map((j) => `${j}${c.dialect.joinCheck}`);
  return ` FROM ${q(scope.collection.name)} ${q(w.mmBase)}${joins.length ? ` ${joins.join(" ")}` : ""} WHERE ${q(w.mmBase)}.${q("id")} = ${q(scope.alias)}.${q("id")}`;
}

/**
 * The extra join condition a restricted (non-superuser client) hop into `target` needs: the target's list
 * rule evaluated on the joined row. A locked (null) list rule refuses the hop.
 */
function hopCondition(c: Compiler, scope: Scope, target: RuleCollection, alias: string): string {
  if (!scope.restricted) return "";
  const rule = target.listRule;
  if (rule === null || rule === undefined) {
    c.fail(`the fields of "${target.name}" can be filtered only by superusers`);
  }
  if (rule === "") return "";
  const q = c.q.bind(c);
  const direct = new Scope(target, alias, false);
  const where = c.nested(direct, rule);
  if (direct.joins.size === 0) return ` AND (${where})`;
  // The rule needs joins of its own: evaluate it in a self-contained subquery on the same row.
  const x = c.alias();
  const inner = new Scope(target, x, false);
  const innerWhere = c.nested(inner, rule);
  c.noteJoins([...inner.joins.values()]);
  const joins = [...inner.joins.values()].map((j) => `${j}${c.dialect.joinCheck}`);
  return ` AND EXISTS (SELECT 1 FROM ${q(target.name)} ${q(x)} ${joins.join(" ")} WHERE ${q(x)}.${q("id")} = ${q(alias)}.${q("id")} AND (${innerWhere}))`;
}

function joinAlias(c: Compiler, scope: Scope, key: string): { alias: string; fresh: boolean } {
  const found = scope.aliases.get(key);
  if (found) return { alias: found, fresh: false };
  const alias = c.alias();
  scope.aliases.set(key, alias);
  return { alias, fresh: true };
}

/** Resolves an identifier (field path, `@request.*`, `@collection.*`, macro or keyword) into an operand. */
export function resolveIdent(c: Compiler, scope: Scope, name: string): Val {
  const macro = DATE_MACROS[name];
  if (macro) {
    const p = c.param(macro.type, (ctx) => macro.value(ctx.now));
    return { sql: p.sql, type: macro.type, column: false, empty: false, nonEmpty: true, noCoalesce: false };
  }
  const lower = name.toLowerCase();
  const keyword = lower === "null" || lower === "true" || lower === "false";
  if (keyword && !fieldByName(scope.collection, name)) {
    if (lower === "null") return NULL_VAL;
    return {
      sql: c.dialect.boolLiteral(lower === "true"),
      type: "bool",
      column: false,
      empty: false,
      nonEmpty: true,
      noCoalesce: false,
    };
  }
  if (!ALLOWED.some((re) => re.test(name))) c.fail(`failed to resolve field ${JSON.stringify(name)}`);

  const props = name.split(".");
  if (props[0] === "@collection") return resolveCollectionField(c, scope, props);
  if (props[0] === "@request") return resolveRequestField(c, scope, props);
  const w = startWalk(c, scope, false);
  return walkProps(c, scope, w, props);
}

function resolveCollectionField(c: Compiler, scope: Scope, props: string[]): Val {
  const [collName, aliasName] = props[1].split(":", 2);
  const target = c.schema.get(collName);
  if (!target) c.fail(`unknown collection ${JSON.stringify(collName)}`);
  const w = startWalk(c, scope, true);
  const q = c.q.bind(c);
  const { alias, fresh } = joinAlias(c, scope, `collection:${aliasName ? `:${aliasName}` : target.name}`);
  if (fresh)
    scope.addJoin(alias, `LEFT JOIN ${q(target.name)} ${q(alias)} ON ${c.dialect.boolLiteral(true)}`);
  const mm = c.alias();
  w.mmJoins.push(`LEFT JOIN ${q(target.name)} ${q(mm)} ON ${c.dialect.boolLiteral(true)}`);
  w.collection = target;
  w.alias = alias;
  w.mmAlias = mm;
  fanOut(c, scope, w);
  return walkProps(c, scope, w, props.slice(2));
}

function authRecord(request: RequestInfo) {
  return request.auth;
}

function resolveRequestField(c: Compiler, scope: Scope, props: string[]): Val {
  const section = props[1];
  if (section === "auth" && props.length > 2) {
    const authClass = c.probe("auth", (r) => (r.auth ? `c:${r.auth.collectionId}` : "null"));
    if (authClass === "null") return NULL_VAL;
    const full = props.slice(2).join(".");
    if (PLAIN_AUTH_FIELDS.has(full)) return staticField(c, scope, props.slice(1));
    const authCollection = c.schema.get(authClass.slice(2));
    if (!authCollection) return NULL_VAL;
    const w = startWalk(c, scope, true);
    w.nullify = true;
    const q = c.q.bind(c);
    const idSlot = (ctx: { request: RequestInfo }) => authRecord(ctx.request)?.id ?? null;
    const { alias, fresh } = joinAlias(c, scope, "auth");
    if (fresh) {
      const p = c.param("text", idSlot);
      scope.addJoin(
        alias,
        `LEFT JOIN ${q(authCollection.name)} ${q(alias)} ON ${q(alias)}.${q("id")} = ${p.sql}`,
      );
    }
    const mm = c.alias();
    const p2 = c.param("text", idSlot);
    w.mmJoins.push(`LEFT JOIN ${q(authCollection.name)} ${q(mm)} ON ${q(mm)}.${q("id")} = ${p2.sql}`);
    w.collection = authCollection;
    w.alias = alias;
    w.mmAlias = mm;
    return walkProps(c, scope, w, props.slice(2));
  }
  if (section === "body" && props.length > 2) {
    const [fieldName, modifier] = splitModifier(c, props[2]);
    const field = fieldByName(scope.collection, fieldName);
    if (field) {
      if (field.type === "relation" && props.length > 3) return bodyRelation(c, scope, field, props.slice(3));
      if (props.length === 3 && modifier === "each") return bodyEach(c, scope, field);
      if (props.length === 3 && modifier === "length") {
        if (!isMultiValuer(field))
          c.fail(`field ${JSON.stringify(field.name)} doesn't support multivalue operations`);
        const p = c.param("number", (ctx) => toList(ctx.request.body[field.name]).length);
        return { sql: p.sql, type: "number", column: false, empty: false, nonEmpty: true, noCoalesce: false };
      }
      if (props.length === 3 && modifier === "lower") {
        const p = c.param("text", (ctx) => stringOf(ctx.request.body[field.name]));
        const cls = c.probe(`lower:${field.name}`, (r) =>
          stringOf(r.body[field.name]) === "" ? "empty" : "text",
        );
        return {
          sql: c.dialect.lower(p.sql),
          slot: p.slot,
          type: "text",
          column: false,
          empty: cls === "empty",
          nonEmpty: cls !== "empty",
          noCoalesce: false,
        };
      }
      if (props.length === 3 && modifier === "changed") return bodyChanged(c, scope, field);
    }
  }
  return staticField(c, scope, props.slice(1));
}

function stringOf(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  return JSON.stringify(value) ?? "";
}

/** A request value converted as PocketBase does: numeric strings for number fields become numbers. */
function requestValue(scope: Scope, request: RequestInfo, path: readonly string[]): unknown {
  const value = lookupRequest(request, path);
  if (typeof value === "string") {
    const field = fieldByName(scope.collection, path[path.length - 1]);
    if (field?.type === "number" && value.trim() !== "" && Number.isFinite(Number(value)))
      return Number(value);
  }
  return value;
}

function staticField(c: Compiler, scope: Scope, pathWithModifier: string[]): Val {
  const last = pathWithModifier[pathWithModifier.length - 1];
  const [lastProp, modifier] = splitModifier(c, last);
  const path = [...pathWithModifier.slice(0, -1), lastProp];
  if (modifier === "isset") {
    const p = c.param("bool", (ctx) => !isMissing(lookupRequest(ctx.request, path)));
    return {
      sql: p.sql,
      slot: p.slot,
      type: "bool",
      column: false,
      empty: false,
      nonEmpty: true,
      noCoalesce: false,
    };
  }
  if (modifier !== "" && modifier !== "lower") c.fail(`invalid modifier sequence ${lastProp}:${modifier}`);
  const cls = c.probe(`v:${path.join(".")}`, (r) => classify(requestValue(scope, r, path)));
  if (cls === "null") return NULL_VAL;
  const type: ValueType = cls === "number" ? "number" : cls === "bool" ? "bool" : "text";
  const p = c.param(type, (ctx) => toParam(requestValue(scope, ctx.request, path)));
  const val: Val = {
    sql: p.sql,
    slot: p.slot,
    type,
    column: false,
    empty: cls === "empty",
    nonEmpty: cls !== "empty",
    noCoalesce: false,
  };
  if (modifier === "lower") return { ...val, sql: c.dialect.lower(p.sql), type: "text" };
  return val;
}

function bodyIds(request: RequestInfo, field: RuleField): string[] {
  const out: string[] = [];
  for (const v of toList(request.body[field.name])) {
    const s = stringOf(v);
    if (s !== "" && !out.includes(s)) out.push(s);
  }
  return out;
}

function bodyRelation(c: Compiler, scope: Scope, field: RuleField, rest: string[]): Val {
  const target = field.collectionId ? c.schema.get(field.collectionId) : undefined;
  if (!target) c.fail(`failed to load the collection of field ${JSON.stringify(field.name)}`);
  const cls = c.probe(`ids:${field.name}`, (r) => (bodyIds(r, field).length ? "some" : "none"));
  if (cls === "none") return NULL_VAL;
  const q = c.q.bind(c);
  const d = c.dialect;
  const idsSlot = (ctx: { request: RequestInfo }) => JSON.stringify(bodyIds(ctx.request, field));
  const inIds = (alias: string) => {
    const je = c.alias();
    const p = c.param("json", idsSlot);
    return `${q(alias)}.${q("id")} IN (SELECT ${d.jsonEachValue(je)} FROM ${d.jsonEach(p.sql, je)})`;
  };
  const w = startWalk(c, scope, true);
  w.nullify = true;
  const { alias, fresh } = joinAlias(c, scope, `body:${field.name}`);
  if (fresh) scope.addJoin(alias, `LEFT JOIN ${q(target.name)} ${q(alias)} ON ${inIds(alias)}`);
  const mm = c.alias();
  w.mmJoins.push(`LEFT JOIN ${q(target.name)} ${q(mm)} ON ${inIds(mm)}`);
  if (isMultiple(field)) fanOut(c, scope, w);
  w.collection = target;
  w.alias = alias;
  w.mmAlias = mm;
  return walkProps(c, scope, w, rest);
}

function bodyEach(c: Compiler, scope: Scope, field: RuleField): Val {
  if (!isMultiValuer(field))
    c.fail(`field ${JSON.stringify(field.name)} doesn't support multivalue operations`);
  const d = c.dialect;
  const itemsSlot = (ctx: { request: RequestInfo }) => JSON.stringify(toList(ctx.request.body[field.name]));
  const { alias: je, fresh } = joinAlias(c, scope, `bodyeach:${field.name}`);
  if (fresh) {
    const p = c.param("json", itemsSlot);
    scope.addJoin(je, `LEFT JOIN ${d.jsonEach(p.sql, je)} ON ${d.boolLiteral(true)}`);
  }
  scope.fansOut = true;
  const value: Val = {
    sql: d.jsonEachValue(je),
    type: "text",
    column: false,
    empty: false,
    nonEmpty: false,
    noCoalesce: false,
    fansOut: true,
  };
  if (!isMultiple(field)) return value;
  const w = startWalk(c, scope, true);
  const mje = c.alias();
  const p2 = c.param("json", itemsSlot);
  w.mmJoins.push(`LEFT JOIN ${d.jsonEach(p2.sql, mje)} ON ${d.boolLiteral(true)}`);
  const mmValue: Val = { ...value, sql: d.jsonEachValue(mje), fansOut: undefined };
  return { ...value, multi: { from: multiFrom(c, scope, w), value: mmValue } };
}

/** `@request.body.field:changed`: the field was sent and differs from the stored value. */
function bodyChanged(c: Compiler, scope: Scope, field: RuleField): Val {
  const d = c.dialect;
  const col = `${c.q(scope.alias)}.${c.q(field.name)}`;
  const path = ["body", field.name];
  const isset = c.param("bool", (ctx) => !isMissing(lookupRequest(ctx.request, path)));
  let differs: string;
  if (field.type === "json" || field.type === "geoPoint" || isMultiple(field)) {
    const p = c.param("json", (ctx) => {
      const v = lookupRequest(ctx.request, path);
      return isMissing(v) || v === undefined ? null : JSON.stringify(v);
    });
    differs = d.nullSafeEq(col, p.sql, true);
  } else {
    const type: Exclude<ValueType, "null"> =
      field.type === "number" ? "number" : field.type === "bool" ? "bool" : "text";
    const p = c.param(type, (ctx) => {
      const v = requestValue(scope, ctx.request, path);
      if (type === "number") return toNumberValue(toParam(v));
      if (type === "bool") return v === true || v === "true" || v === 1 || v === "1";
      return isMissing(v) || v === null ? "" : stringOf(v);
    });
    differs = d.nullSafeEq(col, p.sql, true);
  }
  return {
    sql: `(${isset.sql} AND ${differs})`,
    type: "bool",
    column: false,
    empty: false,
    nonEmpty: true,
    noCoalesce: false,
  };
}

/** Converts a bound value to a number the way SQLite's numeric affinity would, or null. */
export function toNumberValue(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "string" && /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/.test(value)) {
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function walkProps(c: Compiler, scope: Scope, w: Walk, props: string[]): Val {
  const q = c.q.bind(c);
  const d = c.dialect;
  for (let i = 0; i < props.length; i++) {
    const prop = props[i];
    const collection = w.collection;
    if (i === props.length - 1) return lastProp(c, scope, w, prop);
    const field = fieldByName(collection, prop);
    if (field?.hidden && !w.allowHidden) c.fail(`non-filterable field ${JSON.stringify(prop)}`);

    if (field && (field.type === "json" || field.type === "geoPoint")) {
      const path: (string | number)[] = [];
      for (const p of props.slice(i + 1)) {
        if (!/^\w+$/.test(p)) c.fail(`invalid JSON path segment ${JSON.stringify(p)}`);
        path.push(/^\d+$/.test(p) ? Number(p) : p);
      }
      return jsonVal(c, scope, w, `${q(w.alias)}.${q(field.name)}`, `${q(w.mmAlias)}.${q(field.name)}`, path);
    }
    if (i >= MAX_NESTED_RELATIONS) c.fail(`max nested relations reached for field ${JSON.stringify(prop)}`);

    if (!field) {
      const m = VIA_RE.exec(prop);
      const back = m ? c.schema.get(m[1]) : undefined;
      const backField = m && back ? fieldByName(back, m[2]) : undefined;
      if (
        !m ||
        !back ||
        !backField ||
        backField.type !== "relation" ||
        backField.collectionId !== collection.id
      ) {
        if (w.nullify) return NULL_VAL;
        c.fail(`failed to resolve field ${JSON.stringify(prop)}`);
      }
      if (backField.hidden && !w.allowHidden)
        c.fail(`non-filterable back relation field ${JSON.stringify(backField.name)}`);
      const manyBack = isMultiple(backField) || !hasUniqueIndexOn(back, backField.name);
      const onBack = (alias: string, parent: string) => {
        if (!isMultiple(backField)) return `${q(alias)}.${q(backField.name)} = ${q(parent)}.${q("id")}`;
        const je = c.alias();
        return `${q(parent)}.${q("id")} IN (SELECT ${d.jsonEachValue(je)} FROM ${d.jsonEach(`${q(alias)}.${q(backField.name)}`, je)})`;
      };
      const { alias, fresh } = joinAlias(c, scope, `via:${w.alias}.${prop}`);
      if (fresh) {
        scope.addJoin(
          alias,
          `LEFT JOIN ${q(back.name)} ${q(alias)} ON ${onBack(alias, w.alias)}${hopCondition(c, scope, back, alias)}`,
        );
      }
      const mm = c.alias();
      w.mmJoins.push(
        `LEFT JOIN ${q(back.name)} ${q(mm)} ON ${onBack(mm, w.mmAlias)}${hopCondition(c, scope, back, mm)}`,
      );
      if (manyBack) fanOut(c, scope, w);
      w.collection = back;
      w.alias = alias;
      w.mmAlias = mm;
      continue;
    }

    if (field.type !== "relation") c.fail(`field ${JSON.stringify(prop)} is not a valid relation`);
    const target = field.collectionId ? c.schema.get(field.collectionId) : undefined;
    if (!target) c.fail(`failed to load the collection of field ${JSON.stringify(prop)}`);
    const multiple = isMultiple(field);
    // `rel.id` on a single relation is the stored id itself: no join needed.
    if (!multiple && i === props.length - 2 && props[i + 1] === "id")
      return lastProp(c, scope, w, field.name);

    const { alias, fresh } = joinAlias(c, scope, `rel:${w.alias}.${field.name}`);
    if (fresh) {
      const hop = hopCondition(c, scope, target, alias);
      if (!multiple) {
        scope.addJoin(
          alias,
          `LEFT JOIN ${q(target.name)} ${q(alias)} ON ${q(alias)}.${q("id")} = ${q(w.alias)}.${q(field.name)}${hop}`,
        );
      } else {
        const je = c.alias();
        scope.addJoin(
          je,
          `LEFT JOIN ${d.jsonEach(`${q(w.alias)}.${q(field.name)}`, je)} ON ${d.boolLiteral(true)} LEFT JOIN ${q(target.name)} ${q(alias)} ON ${q(alias)}.${q("id")} = ${d.jsonEachValue(je)}${hop}`,
        );
      }
    }
    const mm = c.alias();
    const mmHop = hopCondition(c, scope, target, mm);
    if (!multiple) {
      w.mmJoins.push(
        `LEFT JOIN ${q(target.name)} ${q(mm)} ON ${q(mm)}.${q("id")} = ${q(w.mmAlias)}.${q(field.name)}${mmHop}`,
      );
    } else {
      const mje = c.alias();
      w.mmJoins.push(
        `LEFT JOIN ${d.jsonEach(`${q(w.mmAlias)}.${q(field.name)}`, mje)} ON ${d.boolLiteral(true)} LEFT JOIN ${q(target.name)} ${q(mm)} ON ${q(mm)}.${q("id")} = ${d.jsonEachValue(mje)}${mmHop}`,
      );
      fanOut(c, scope, w);
    }
    w.collection = target;
    w.alias = alias;
    w.mmAlias = mm;
  }
  return c.fail("failed to resolve field");
}

function jsonVal(
  c: Compiler,
  scope: Scope,
  w: Walk,
  col: string,
  mmCol: string,
  path: readonly (string | number)[],
): Val {
  const d = c.dialect;
  const make = (expr: string): Val => ({
    sql: d.jsonExtractAs(expr, path, "value"),
    type: "json",
    column: false,
    empty: false,
    nonEmpty: false,
    noCoalesce: true,
    json: { expr, path },
  });
  const val = make(col);
  return withMulti(c, scope, w, { ...val, fansOut: w.fansOut || undefined }, make(mmCol));
}

function withMulti(c: Compiler, scope: Scope, w: Walk, val: Val, mmValue: Val): Val {
  if (!w.withMulti) return val;
  const multi: MultiMatch = { from: multiFrom(c, scope, w), value: { ...mmValue, fansOut: undefined } };
  return { ...val, multi };
}

function columnType(field: RuleField): ValueType {
  if (field.type === "number") return "number";
  if (field.type === "bool") return "bool";
  return "text";
}

function lastProp(c: Compiler, scope: Scope, w: Walk, prop: string): Val {
  const q = c.q.bind(c);
  const d = c.dialect;
  const [name, modifier] = splitModifier(c, prop);
  const collection = w.collection;
  const field = fieldByName(collection, name);
  if (!field) {
    if (w.nullify) return NULL_VAL;
    c.fail(`unknown field ${JSON.stringify(name)}`);
  }
  if (field.hidden && !w.allowHidden) c.fail(`non-filterable field ${JSON.stringify(name)}`);
  const col = `${q(w.alias)}.${q(field.name)}`;
  const mmCol = `${q(w.mmAlias)}.${q(field.name)}`;

  if (modifier === "isset" || modifier === "changed") {
    c.fail(`the :${modifier} modifier is available only for @request.* fields`);
  }
  if ((modifier === "length" || modifier === "each") && !isMultiValuer(field)) {
    c.fail(`field ${JSON.stringify(name)} doesn't support multivalue operations`);
  }
  if (modifier === "length") {
    const make = (expr: string): Val => ({
      sql: d.jsonArrayLength(expr),
      type: "number",
      column: false,
      empty: false,
      nonEmpty: false,
      noCoalesce: false,
    });
    return withMulti(c, scope, w, { ...make(col), fansOut: w.fansOut || undefined }, make(mmCol));
  }
  if (modifier === "each") {
    const { alias: je, fresh } = joinAlias(c, scope, `each:${w.alias}.${field.name}`);
    if (fresh) scope.addJoin(je, `LEFT JOIN ${d.jsonEach(col, je)} ON ${d.boolLiteral(true)}`);
    scope.fansOut = true;
    if (isMultiple(field)) w.withMulti = true;
    const make = (expr: string): Val => ({
      sql: expr,
      type: "text",
      column: false,
      empty: false,
      nonEmpty: false,
      noCoalesce: false,
    });
    if (!w.withMulti) return { ...make(d.jsonEachValue(je)), fansOut: true };
    const mje = c.alias();
    w.mmJoins.push(`LEFT JOIN ${d.jsonEach(mmCol, mje)} ON ${d.boolLiteral(true)}`);
    return withMulti(
      c,
      scope,
      w,
      { ...make(d.jsonEachValue(je)), fansOut: true },
      make(d.jsonEachValue(mje)),
    );
  }

  const make = (alias: string, expr: string): Val => {
    let v: Val;
    if (field.type === "json" || field.type === "geoPoint") {
      v = {
        sql: d.jsonExtractAs(expr, [], "value"),
        type: "json",
        column: false,
        empty: false,
        nonEmpty: false,
        noCoalesce: true,
        json: { expr, path: [] },
      };
    } else if (isMultiple(field)) {
      v = {
        sql: d.jsonArrayText(expr),
        type: "text",
        column: true,
        empty: false,
        nonEmpty: false,
        noCoalesce: false,
      };
    } else {
      v = {
        sql: expr,
        type: columnType(field),
        column: true,
        empty: false,
        nonEmpty: false,
        noCoalesce: false,
      };
    }
    if (modifier === "lower") {
      const text = v.type === "json" ? d.jsonExtractAs(expr, [], "text") : v.sql;
      v = { ...v, sql: d.lower(text), type: "text", column: false, noCoalesce: false, json: undefined };
    }
    // PocketBase lets non-superusers match an auth record's e-mail only where it is public.
    if (field.name === "email" && collection.type === "auth" && !w.allowHidden) {
      v = { ...v, guard: `${q(alias)}.${q("emailVisibility")} = ${d.boolLiteral(true)}` };
    }
    return v;
  };
  const val = make(w.alias, col);
  return withMulti(c, scope, w, { ...val, fansOut: w.fansOut || undefined }, make(w.mmAlias, mmCol));
}
