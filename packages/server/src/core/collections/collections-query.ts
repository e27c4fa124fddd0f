import type { Database } from "../../db/index.js";
import {
  buildCount,
  buildSelect,
  type CompiledFilter,
  compileFilter,
  compileSort,
  EMPTY_REQUEST,
  type RuleCollection,
  type RuleSchema,
} from "../../rules/index.js";
import type { Collection } from "./model.js";
import { COLLECTIONS_TABLE } from "./store.js";

/** The fields the collections list may be filtered and sorted by, as PocketBase allows. */
const COLLECTIONS_TABLE_SCHEMA: RuleCollection = {
  id: COLLECTIONS_TABLE,
  name: COLLECTIONS_TABLE,
  type: "base",
  fields: [
    { id: "id", name: "id", type: "text" },
    { id: "name", name: "name", type: "text" },
    { id: "type", name: "type", type: "text" },
    { id: "system", name: "system", type: "bool" },
    { id: "created", name: "created", type: "autodate" },
    { id: "updated", name: "updated", type: "autodate" },
  ],
};

/** One page of the collections list. */
export interface CollectionsPage {
  items: Collection[];
  totalItems: number | null;
}

/**
 * Filters, sorts and pages the collections list with PocketBase's filter syntax over `id, name, type,
 * system, created, updated`, in SQL on `_collections`; the definitions come from the in-memory cache.
 */
export async function queryCollections(
  db: Database,
  byId: (id: string) => Collection | undefined,
  opts: { filter: string; sort: string; page: number; perPage: number; skipTotal: boolean },
): Promise<CollectionsPage> {
  const schema: RuleSchema = { get: (n) => (n === COLLECTIONS_TABLE ? COLLECTIONS_TABLE_SCHEMA : undefined) };
  const base = {
    dialect: db.dialect,
    schema,
    collection: COLLECTIONS_TABLE_SCHEMA,
    alias: "c",
    request: EMPTY_REQUEST,
  };
  const filters: CompiledFilter[] = opts.filter.trim()
    ? [compileFilter({ ...base, text: opts.filter, mode: "client", isSuperuser: true })]
    : [];
  const sort = compileSort({ ...base, text: opts.sort.trim() || "created,name", isSuperuser: true });
  const select = buildSelect({
    dialect: db.dialect,
    table: COLLECTIONS_TABLE,
    alias: "c",
    columns: `${db.dialect.quoteIdent("c")}.${db.dialect.quoteIdent("id")}`,
    filters,
    sort,
    limit: opts.perPage,
    offset: (opts.page - 1) * opts.perPage,
  });
  const rows = await db.all<{ id: string }>(select.sql, select.params);
  const items = rows.map((r) => byId(r.id)).filter((c): c is Collection => c !== undefined);
  if (opts.skipTotal) return { items, totalItems: null };
  const count = buildCount({ dialect: db.dialect, table: COLLECTIONS_TABLE, alias: "c", filters });
  const total = await db.get<{ count: number }>(count.sql, count.params);
  return { items, totalItems: Number(total?.count ?? 0) };
}
