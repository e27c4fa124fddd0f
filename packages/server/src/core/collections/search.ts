import { createHash } from "node:crypto";
import type { Queryable, SearchIndexSpec } from "../../db/index.js";
import { type ErrorData, type FieldError, fieldError } from "../../errors/index.js";
import { isPlainObject } from "../../util/index.js";
import type { Collection } from "./model.js";

/**
 * A collection's full-text search option (issue 18, beyond PocketBase): the text-like fields whose words
 * `search=` finds. Sent and returned as the top-level `search` key of the collection JSON (absent or null:
 * search is off); PocketBase and its SDK ignore keys they do not know.
 */
export interface SearchOptions {
  fields: string[];
}

/** The field types whose values search can index: plain text in the record's column. */
export const SEARCH_FIELD_TYPES: ReadonlySet<string> = new Set(["text", "editor", "email", "url"]);
/** How many fields one collection may search over. */
export const MAX_SEARCH_FIELDS = 16;

const invalid = (message: string): FieldError => fieldError("validation_invalid_search", message);

/**
 * Reads the `search` key of a collection body: null, `{fields: []}` or `{}` turn search off; otherwise a
 * list of field names (checked against the fields later, by validateSearch).
 */
export function readSearchInput(
  value: unknown,
): { search: SearchOptions | undefined } | { error: FieldError } {
  if (value === null) return { search: undefined };
  if (!isPlainObject(value))
    return { error: invalid('Must be null or an object like {"fields": ["title"]}.') };
  const fields = value.fields ?? [];
  if (!Array.isArray(fields) || !fields.every((f) => typeof f === "string"))
    return { error: invalid("The search fields must be a list of field names.") };
  return { search: fields.length ? { fields: [...fields] } : undefined };
}

/**
 * Keeps a collection's search option in step with a change of its fields made without a new `search` key:
 * a renamed field stays searched under its new name, a deleted one leaves the list (and an empty list turns
 * search off).
 */
export function carrySearchFields(before: Collection, after: Collection): void {
  if (!after.search) return;
  const names: string[] = [];
  for (const name of after.search.fields) {
    const id = before.fields.find((f) => f.name === name)?.id;
    const now = id ? after.fields.find((f) => f.id === id) : undefined;
    if (now) names.push(now.name);
    else if (!id && after.fields.some((f) => f.name === name)) names.push(name);
  }
  after.search = names.length ? { fields: names } : undefined;
}

/**
 * Checks the search option: only base and auth collections, at most MAX_SEARCH_FIELDS distinct existing
 * text-like fields, none hidden (search must never tell a client what it cannot read), and not an auth
 * collection's `email` (its visibility is per record).
 */
export function validateSearch(c: Collection, errors: ErrorData): void {
  const message = searchProblem(c);
  if (message) errors.search = invalid(message);
}

function searchProblem(c: Collection): string | null {
  const search = c.search;
  if (!search) return null;
  if (c.type === "view") return "View collections cannot be searched.";
  if (search.fields.length > MAX_SEARCH_FIELDS) return `At most ${MAX_SEARCH_FIELDS} fields can be searched.`;
  const seen = new Set<string>();
  for (const name of search.fields) {
    const field = c.fields.find((f) => f.name === name);
    if (!field) return `Unknown field "${name}".`;
    if (seen.has(name)) return `The field "${name}" is listed twice.`;
    seen.add(name);
    if (!SEARCH_FIELD_TYPES.has(field.type))
      return `The field "${name}" is not a text, editor, email or url field.`;
    if (field.hidden) return `The field "${name}" is hidden; hidden fields cannot be searched.`;
    if (c.type === "auth" && name === "email")
      return 'The "email" field of an auth collection cannot be searched (its visibility is per record).';
  }
  return null;
}

/** The name of a collection's search index: from its id, which stays the same when it is renamed. */
export function searchIndexName(collectionId: string): string {
  const name = `_fts_${collectionId}`;
  // PostgreSQL cuts identifiers at 63 bytes; a long id gets a digest instead, still unique.
  return name.length <= 60
    ? name
    : `_fts_${createHash("sha256").update(collectionId).digest("hex").slice(0, 32)}`;
}

/** The search index a collection has, or null when search is off (views never have one). */
export function searchIndexSpec(c: Collection | undefined): SearchIndexSpec | null {
  if (!c?.search?.fields.length || c.type === "view") return null;
  return { name: searchIndexName(c.id), table: c.name, columns: [...c.search.fields] };
}

/** What decides whether an index must be rebuilt: the searched fields by id, in order. */
function signature(c: Collection | undefined): string | null {
  const spec = searchIndexSpec(c);
  if (!spec) return null;
  return JSON.stringify(spec.columns.map((name) => c!.fields.find((f) => f.name === name)?.id ?? name));
}

/** Creates (and fills) a collection's search index, when it has search on. */
export async function createSearchIndex(q: Queryable, c: Collection): Promise<void> {
  const spec = searchIndexSpec(c);
  if (!spec) return;
  for (const sql of q.dialect.search.createIndex(spec)) await q.exec(sql);
}

/**
 * The two halves of a collection change's index work, around the table's DDL inside the same transaction:
 * `before` drops the old index when the searched fields change (or the collection goes), so no trigger or
 * index holds on to a column being dropped; `after` builds the new one from the rows as they now are. A
 * rename of the table or of searched fields keeps the index as it is.
 */
export const searchIndexSync = {
  async before(q: Queryable, prev: Collection | undefined, next: Collection | undefined): Promise<void> {
    const spec = searchIndexSpec(prev);
    if (!spec || signature(prev) === signature(next)) return;
    for (const sql of q.dialect.search.dropIndex(spec)) await q.exec(sql);
  },
  async after(q: Queryable, prev: Collection | undefined, next: Collection | undefined): Promise<void> {
    if (!next || signature(prev) === signature(next)) return;
    await createSearchIndex(q, next);
  },
};
