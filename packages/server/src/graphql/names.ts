import type { Collection } from "../core/collections/index.js";

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** True when `name` can be a GraphQL name (not starting with `__`, which GraphQL reserves). */
export function isGraphqlName(name: string): boolean {
  return NAME_RE.test(name) && !name.startsWith("__");
}

/** `posts` → `Posts`; the base of every type and operation name a collection gets. */
export function upperFirst(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/**
 * The GraphQL names generated for one collection. Type names are the capitalised collection name plus one
 * suffix of a set where no suffix ends another, and operation names one prefix of a set where no prefix starts
 * another, so two collections (unique case-insensitively) never produce the same name.
 */
export interface CollectionNames {
  readonly record: string;
  readonly page: string;
  readonly expand: string;
  readonly createInput: string;
  readonly updateInput: string;
  readonly event: string;
  readonly auth: string;
  readonly list: string;
  readonly view: string;
  readonly create: string;
  readonly update: string;
  readonly delete: string;
  readonly authWithPassword: string;
  readonly authRefresh: string;
  readonly watch: string;
}

/** The names for a collection, or null when its name cannot be used in GraphQL (e.g. starts with a digit). */
export function collectionNames(c: Collection): CollectionNames | null {
  if (!isGraphqlName(c.name)) return null;
  const base = upperFirst(c.name);
  return {
    record: `${base}Record`,
    page: `${base}Page`,
    expand: `${base}Expand`,
    createInput: `${base}CreateInput`,
    updateInput: `${base}UpdateInput`,
    event: `${base}Event`,
    auth: `${base}Auth`,
    list: `list${base}`,
    view: `view${base}`,
    create: `create${base}`,
    update: `update${base}`,
    delete: `delete${base}`,
    authWithPassword: `authWithPassword${base}`,
    authRefresh: `authRefresh${base}`,
    watch: `watch${base}`,
  };
}
