import { buildSelect, type CompiledFilter, sqlFilter } from "../../rules/index.js";
import { TurnSlicer } from "../../util/index.js";
import { type Collection, type CollectionsService, parseIndex } from "../collections/index.js";
import { type Field, isMultiValued } from "../fields/index.js";
import type { ExpandBudget } from "./expand-budget.js";
import { valueList } from "./field-values/index.js";
import { type FieldsSpec, pickFields } from "./pick-fields.js";
import { findRowsWithRule, type QueryContext, RECORD_ALIAS, ruleFilter } from "./records-query.js";
import { insertSorted, type RecordRow, serializeRecord } from "./serialize.js";

/** PocketBase's limit on nested expand levels. */
export const MAX_EXPAND_DEPTH = 6;

type ExpandTree = Map<string, ExpandTree>;

/** Parses `a,b.c,d_via_e` into a tree, ignoring levels past the maximum depth. */
export function parseExpand(raw: string): ExpandTree {
  const root: ExpandTree = new Map();
  for (const item of raw.split(",")) {
    const parts = item.trim().split(".").filter(Boolean).slice(0, MAX_EXPAND_DEPTH);
    let node = root;
    for (const p of parts) {
      let next = node.get(p);
      if (!next) {
        next = new Map();
        node.set(p, next);
      }
      node = next;
    }
  }
  return root;
}

/** What turning rows into API JSON needs: collections, the caller's query context and the options. */
export interface EnrichContext {
  readonly collections: CollectionsService;
  /** The caller's context (visibility, manage rule). */
  readonly ctx: QueryContext;
  /** The same caller in `@request.context = "expand"` (view rules of expanded records). */
  readonly expandCtx: QueryContext;
  /** The caller's auth record id and collection id, for owner checks. */
  readonly authId: string | null;
  readonly authCollectionId: string | null;
  /** The expanded records this response (or realtime event, or batch) may still load and emit. */
  readonly budget: ExpandBudget;
  /**
   * Runs `onRecordEnrich` on the JSON of expanded records of a collection (in the `expand` context, as
   * PocketBase does), returning what the handlers left; absent when no handler is bound.
   */
  readonly enrichExpanded?: (
    collection: Collection,
    records: Record<string, unknown>[],
  ) => Promise<Record<string, unknown>[]>;
  /** Whether an API key's scope lets the caller view a collection's records (absent: no scope to check). */
  readonly canView?: (collection: Collection) => boolean;
}

/** `e.enrichExpanded` over one expanded level, keeping the sizes of records a handler replaced. */
async function enrichedLevel(
  e: EnrichContext,
  collection: Collection,
  json: Record<string, unknown>[],
  sizes: Sizes,
): Promise<Record<string, unknown>[]> {
  if (!e.enrichExpanded || !json.length) return json;
  const after = await e.enrichExpanded(collection, json);
  after.forEach((o, i) => {
    if (o !== json[i] && sizes.has(json[i])) sizes.set(o, sizes.get(json[i])!);
  });
  return after;
}

/**
 * How many records each JSON object stands for in the output (itself plus its expanded records, counted
 * once per appearance). Expanded objects are shared between parents, so this is computed bottom-up.
 */
type Sizes = Map<object, number>;

/** The sizes of a response without `expand` (never written: nothing is attached). */
const NO_SIZES: Sizes = new Map();

/** Ids among `rows` the caller may manage through the collection's manageRule (shows their e-mail). */
async function managedIds(e: EnrichContext, collection: Collection, rows: RecordRow[]): Promise<Set<string>> {
  const rule = collection.manageRule;
  if (collection.type !== "auth" || !rule || !e.authId || !rows.length) return new Set();
  try {
    const ids = rows.map((r) => String(r.id));
    return new Set((await findRowsWithRule(e.ctx, collection, ids, rule)).map((r) => String(r.id)));
  } catch {
    return new Set();
  }
}

/**
 * Turns stored rows into the records JSON the caller may see: hidden fields and e-mails left out as the
 * rules say, relations expanded (each expanded record checked against its own view rule), then `fields`
 * picked. Password hashes and token keys are never included.
 */
export async function enrichRows(
  e: EnrichContext,
  collection: Collection,
  rows: RecordRow[],
  expand: ExpandTree | null,
  fields: FieldsSpec | null,
): Promise<Record<string, unknown>[]> {
  const sizes: Sizes = expand?.size ? new Map() : NO_SIZES;
  // the SQLite driver settles at once: without pauses a whole expand (up to the budget's records) would
  // be one event-loop turn that every other request waits behind
  const slicer = new TurnSlicer();
  const out = await enrichLevel(e, collection, rows, expand, sizes, slicer);
  if (expand?.size) e.budget.emit(out.reduce((n, o) => n + (sizes.get(o) ?? 1) - 1, 0));
  if (!fields?.size) return out;
  const picked: Record<string, unknown>[] = [];
  for (const o of out) {
    picked.push(pickFields(o, fields) as Record<string, unknown>);
    if (slicer.due) await slicer.pause();
  }
  return picked;
}

async function enrichLevel(
  e: EnrichContext,
  collection: Collection,
  rows: RecordRow[],
  expand: ExpandTree | null,
  sizes: Sizes,
  slicer: TurnSlicer,
): Promise<Record<string, unknown>[]> {
  const su = e.ctx.isSuperuser;
  const managed = su ? new Set<string>() : await managedIds(e, collection, rows);
  const out: Record<string, unknown>[] = [];
  for (const row of rows) {
    const id = String(row.id);
    const owner = e.authCollectionId === collection.id && e.authId === id;
    out.push(
      serializeRecord(collection, row, {
        showHidden: su,
        showEmail: su || owner || managed.has(id),
      }) as Record<string, unknown>,
    );
    if (slicer.due) await slicer.pause();
  }
  if (expand?.size) await expandInto(e, collection, rows, out, expand, sizes, slicer);
  return out;
}

function setExpand(json: Record<string, unknown>, name: string, value: unknown): void {
  const current = (json.expand as Record<string, unknown> | undefined) ?? {};
  insertSorted(current, name, value);
  insertSorted(json, "expand", current);
}

async function expandInto(
  e: EnrichContext,
  collection: Collection,
  rows: RecordRow[],
  out: Record<string, unknown>[],
  tree: ExpandTree,
  sizes: Sizes,
  slicer: TurnSlicer,
): Promise<void> {
  // Every parent of this level appears at least once in the response, so their sizes add up to at most
  // the response's count: checking the running sum stops a blow-up after O(budget) steps.
  let levelSize = 0;
  const attach = (i: number, name: string, value: Record<string, unknown> | Record<string, unknown>[]) => {
    const list = Array.isArray(value) ? value : [value];
    const added = list.reduce((n, j) => n + (sizes.get(j) ?? 1), 0);
    const size = (sizes.get(out[i]) ?? 1) + added;
    levelSize += added;
    e.budget.check(levelSize);
    sizes.set(out[i], size);
    setExpand(out[i], name, value);
  };
  for (const [name, sub] of tree) {
    if (collection.fields.some((f) => f.name === name && f.type === "relation")) {
      const ids = [...new Set(rows.flatMap((r) => valueList(fieldValueOf(collection, name, r))))];
      const found = await relatedRows(e, collection, name, ids);
      if (!found) continue;
      await slicer.pause();
      const { target, field, rows: related } = found;
      const level = await enrichLevel(e, target, related, sub, sizes, slicer);
      const json = await enrichedLevel(e, target, level, sizes);
      const byId = new Map(json.map((j) => [String(j.id), j]));
      for (const [i, row] of rows.entries()) {
        const hits = valueList(fieldValue(field, row))
          .map((id) => byId.get(id))
          .filter((j) => j !== undefined);
        if (hits.length) attach(i, name, isMultiValued(field) ? hits : hits[hits.length - 1]);
        if (slicer.due) await slicer.pause();
      }
      continue;
    }
    const via = /^(\w+)_via_(\w+)$/.exec(name);
    if (!via || !rows.length) continue;
    const parentIds = rows.map((r) => String(r.id));
    const found = await backRelatedRows(e, collection, via[1], via[2], parentIds);
    if (!found) continue;
    await slicer.pause();
    const { source, field: backField, rows: children } = found;
    const level = await enrichLevel(e, source, children, sub, sizes, slicer);
    const json = await enrichedLevel(e, source, level, sizes);
    const single = !isMultiValued(backField) && hasUniqueIndex(source, backField.name);
    const byParent = new Map<string, Record<string, unknown>[]>();
    children.forEach((child, k) => {
      for (const parent of new Set(valueList(fieldValue(backField, child)))) {
        const list = byParent.get(parent);
        if (list) list.push(json[k]);
        else byParent.set(parent, [json[k]]);
      }
    });
    for (const [i, row] of rows.entries()) {
      const mine = byParent.get(String(row.id));
      if (mine?.length) attach(i, name, single ? mine[0] : mine);
      if (slicer.due) await slicer.pause();
    }
  }
}

/**
 * The records a relation field of `collection` points to among `ids`, as `expand` loads them: nothing when
 * the field is hidden or the target superuser-only for a non-superuser, otherwise each record checked against
 * its own view rule in the `expand` rule context; the ids count against the budget before the query. Null
 * when the field is not a relation that can be expanded. REST's expand and GraphQL's relations share it.
 */
export async function relatedRows(
  e: EnrichContext,
  collection: Collection,
  name: string,
  ids: readonly string[],
): Promise<{ target: Collection; field: Field; rows: RecordRow[] } | null> {
  const su = e.ctx.isSuperuser;
  const field = collection.fields.find((f) => f.name === name && f.type === "relation");
  if (!field || (field.hidden && !su)) return null;
  const target = e.collections.find(String(field.collectionId));
  if (!target || (!su && target.viewRule === null) || e.canView?.(target) === false) return null;
  // counted before the query: an id list past the budget is refused, never sent to the database
  e.budget.load(ids.length);
  return { target, field, rows: await findRowsWithRule(e.expandCtx, target, ids, target.viewRule) };
}

/**
 * The records of `sourceName` whose relation field `fieldName` points to one of `parentIds` of `collection`
 * (a `<source>_via_<field>` back-relation), each checked against the source's view rule in the `expand`
 * context; at most 1,000 for all parents together, counted against the budget. Null when the back-relation
 * cannot be expanded.
 */
export async function backRelatedRows(
  e: EnrichContext,
  collection: Collection,
  sourceName: string,
  fieldName: string,
  parentIds: readonly string[],
): Promise<{ source: Collection; field: Field; rows: RecordRow[] } | null> {
  const su = e.ctx.isSuperuser;
  const source = e.collections.find(sourceName);
  const field = source?.fields.find((f) => f.name === fieldName);
  if (!source || !field || field.type !== "relation" || field.collectionId !== collection.id) return null;
  if (!su && (source.viewRule === null || field.hidden)) return null;
  if (e.canView?.(source) === false) return null;
  const rows = parentIds.length ? await backRelated(e, source, field, [...parentIds]) : [];
  e.budget.load(rows.length);
  return { source, field, rows };
}

function fieldValueOf(collection: Collection, name: string, row: RecordRow): unknown {
  const field = collection.fields.find((f) => f.name === name);
  return field ? fieldValue(field, row) : "";
}

function fieldValue(field: Field, row: RecordRow): unknown {
  const raw = row[field.name];
  if (!isMultiValued(field)) return raw ?? "";
  try {
    return typeof raw === "string" ? JSON.parse(raw) : (raw ?? []);
  } catch {
    return [];
  }
}

async function backRelated(
  e: EnrichContext,
  source: Collection,
  field: Field,
  parentIds: string[],
): Promise<RecordRow[]> {
  const d = e.expandCtx.q.dialect;
  const col = `${d.quoteIdent(RECORD_ALIAS)}.${d.quoteIdent(field.name)}`;
  const marks = parentIds.map(() => "?").join(", ");
  const where = isMultiValued(field)
    ? `EXISTS (SELECT 1 FROM ${d.jsonEach(col, "_je")} WHERE ${d.jsonEachValue("_je")} IN (${marks}))`
    : `${col} IN (${marks})`;
  const filters: CompiledFilter[] = [sqlFilter({ sql: where, params: parentIds })];
  const rf = ruleFilter(e.expandCtx, source, source.viewRule);
  if (rf) filters.push(rf);
  const sel = buildSelect({
    dialect: d,
    table: source.name,
    alias: RECORD_ALIAS,
    columns: `${d.quoteIdent(RECORD_ALIAS)}.*`,
    filters,
    // one row past what the budget allows is enough to know it is exceeded
    limit: Math.min(1000, e.budget.remaining + 1),
  });
  return e.expandCtx.q.all<RecordRow>(sel.sql, sel.params);
}

function hasUniqueIndex(collection: Collection, column: string): boolean {
  return collection.indexes.some((raw) => {
    const idx = parseIndex(raw);
    return !!idx && idx.unique && idx.columns.length === 1 && idx.columns[0].name === column;
  });
}
