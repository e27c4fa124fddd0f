import { AsyncLocalStorage } from "node:async_hooks";
import {
  createView,
  type Database,
  DbStatementError,
  dropTable,
  dropView,
  type Queryable,
  syncTable,
  UniqueViolationError,
} from "../../db/index.js";
import { badRequest, type ErrorData, fieldError, notFound } from "../../errors/index.js";
import { isPlainObject, nowDateTime } from "../../util/index.js";
import type { AppHooks } from "../events.js";
import type { Field } from "../fields/index.js";
import { newCollection } from "./defaults.js";
import { formatIndex, parseIndex } from "./indexes.js";
import type { Collection, CollectionType } from "./model.js";
import { applyCollectionInput } from "./normalize.js";
import { searchIndexSync } from "./search.js";
import {
  COLLECTIONS_TABLE,
  COLLECTIONS_TABLE_SPEC,
  collectionTableSpec,
  inferViewFields,
  loadCollectionRows,
  PARAMS_TABLE_SPEC,
  saveCollectionRow,
} from "./store.js";
import { type ValidateContext, validateCollection } from "./validate.js";

type Change = { before: Collection | undefined; after: Collection | undefined };

/** The collection model hooks (see core/events.ts), as the service uses them. */
export type CollectionHooks = Pick<
  AppHooks,
  | "onCollectionCreate"
  | "onCollectionUpdate"
  | "onCollectionDelete"
  | "onCollectionAfterCreateSuccess"
  | "onCollectionAfterUpdateSuccess"
  | "onCollectionAfterDeleteSuccess"
>;

/**
 * Views saved before issue 10 copied their source fields as visible (token keys, password hashes, auth
 * e-mails, hidden fields): re-derives each view's fields and applies only what is hidden now.
 */
async function hideViewSecrets(tx: Queryable): Promise<void> {
  const all = await loadCollectionRows(tx);
  for (const view of all) {
    if (view.type !== "view") continue;
    let inferred: Field[];
    try {
      inferred = await inferViewFields(tx, (view.viewQuery ?? "").trim().replace(/;\s*$/, ""), all);
    } catch {
      continue;
    }
    let changed = false;
    const fields = view.fields.map((f) => {
      const now = inferred.find((n) => n.name === f.name);
      if (!now) return f;
      if (now.type === "password" && f.type !== "password") {
        changed = true;
        return { ...now, id: f.id };
      }
      if (now.hidden === true && f.hidden !== true) {
        changed = true;
        return { ...f, hidden: true };
      }
      return f;
    });
    if (changed) await saveCollectionRow(tx, { ...view, fields });
  }
}

/**
 * Called after a committed change with the collections before and after it; a returned promise (telling
 * the other instances, issue 6) is awaited before the change's caller gets its answer.
 */
export type CollectionsListener = (change: {
  before: Collection | undefined;
  after: Collection | undefined;
}) => void | Promise<void>;

/** Options of the collections service. */
export interface CollectionsServiceOptions {
  /** Validates a rule expression of a collection; returns an error message or null. */
  checkRule?: ValidateContext["checkRule"];
  /** Seals OAuth2 client secrets in `_collections` and opens them on load (stored as given when omitted). */
  secrets?: { seal(plain: string): string; open(stored: string): string };
}

/**
 * Owns the collection definitions: an in-memory cache of `_collections`, and every change to them, each
 * validated against the whole schema and applied (definition row + table DDL) in one transaction.
 */
export class CollectionsService {
  private byId = new Map<string, Collection>();
  private byName = new Map<string, Collection>();
  private listeners: CollectionsListener[] = [];
  private hooks: CollectionHooks | undefined;
  /** The changes held back by {@link deferChanges} in the current async context. */
  private readonly held = new AsyncLocalStorage<Change[]>();
  /** Increases on every committed change; caches keyed on the schema include it. */
  version = 0;

  constructor(
    private readonly db: Database,
    private readonly options: CollectionsServiceOptions = {},
  ) {}

  private readonly seal = (plain: string): string => this.options.secrets?.seal(plain) ?? plain;

  /** Sets the rule checker (the rules module plugs in once the app is composed). */
  setRuleChecker(checkRule: ValidateContext["checkRule"]): void {
    this.options.checkRule = checkRule;
  }

  /**
   * Creates the system tables and collections on a new database, then loads the cache. A database-wide lock
   * makes instances that start at once on a shared database create them exactly once.
   */
  async init(initial: () => Collection[]): Promise<void> {
    await this.db.lockedTransaction("bootstrap", async (tx) => {
      if (!(await tx.tableExists(COLLECTIONS_TABLE))) {
        await syncTable(tx, null, COLLECTIONS_TABLE_SPEC);
        await syncTable(tx, null, PARAMS_TABLE_SPEC);
        for (const c of initial()) {
          await syncTable(tx, null, collectionTableSpec(c, tx.dialect));
          c.indexes = c.indexes.map((i) => formatIndex(parseIndex(i)!, c.name));
          await saveCollectionRow(tx, c);
        }
      }
      await hideViewSecrets(tx);
    });
    await this.reload();
  }

  /** Re-reads every definition from the database. */
  async reload(): Promise<void> {
    const box = this.options.secrets;
    this.setAll(await loadCollectionRows(this.db, box && ((v) => box.open(v))));
  }

  private setAll(list: Collection[]): void {
    this.byId = new Map(list.map((c) => [c.id, c]));
    this.byName = new Map(list.map((c) => [c.name.toLowerCase(), c]));
    this.version++;
  }

  /**
   * Runs `fn`, which wraps changes in a transaction of its own (a migration): the listeners and after-success
   * hooks of the changes made inside hear of them only once `fn` has resolved, i.e. once that outer
   * transaction committed; when `fn` throws they never do, and the cache is re-read from the database.
   */
  async deferChanges<T>(fn: () => Promise<T>): Promise<T> {
    const held: Change[] = [];
    let result: T;
    try {
      result = await this.held.run(held, fn);
    } catch (err) {
      await this.reload();
      throw err;
    }
    await this.tell(held);
    return result;
  }

  private async tell(changes: Change[]): Promise<void> {
    const told: (void | Promise<void>)[] = [];
    for (const ch of changes) for (const l of this.listeners) told.push(l(ch));
    await Promise.all(told);
    for (const ch of changes) await this.afterSuccess(ch);
  }

  /** Registers a listener for committed changes. */
  onChange(listener: CollectionsListener): void {
    this.listeners.push(listener);
  }

  /** Every collection, in creation order. */
  list(): Collection[] {
    return [...this.byId.values()];
  }

  /** A collection by id or (case-insensitive) name. */
  find(idOrName: string): Collection | undefined {
    return this.byId.get(idOrName) ?? this.byName.get(idOrName.toLowerCase());
  }

  /** A collection by id or name, or a 404. */
  get(idOrName: string): Collection {
    const c = this.find(idOrName);
    if (!c) throw notFound();
    return c;
  }

  /** Creates a collection from a request body. */
  async create(input: unknown): Promise<Collection> {
    if (!isPlainObject(input))
      throw badRequest("Failed to load the submitted data due to invalid formatting.");
    const type = (input.type ?? "base") as CollectionType;
    if (!["base", "auth", "view"].includes(type as string)) {
      throw badRequest("Failed to create collection.", {
        type: fieldError("validation_in_invalid", "Must be a valid value."),
      });
    }
    const name = typeof input.name === "string" ? input.name : "";
    const { collection, errors } = applyCollectionInput(newCollection(type, name), input, true);
    if (Object.keys(errors).length) throw badRequest("Failed to create collection.", errors);
    return this.commit([{ before: undefined, after: collection }], "Failed to create collection.");
  }

  /** Updates a collection from a (partial) request body. */
  async update(idOrName: string, input: unknown): Promise<Collection> {
    const before = this.get(idOrName);
    if (!isPlainObject(input))
      throw badRequest("Failed to load the submitted data due to invalid formatting.");
    const { collection, errors } = applyCollectionInput(before, input, false);
    if (input.type !== undefined && input.type !== before.type) {
      errors.type = fieldError("validation_collection_type_change", "Collection type cannot be changed.");
    }
    if (Object.keys(errors).length) throw badRequest("Failed to update collection.", errors);
    collection.updated = nowDateTime();
    return this.commit([{ before, after: collection }], "Failed to update collection.");
  }

  /**
   * Checks a create (`idOrName` undefined) or an update without applying it, for the dashboard's
   * validate-as-you-type: the same checks as `create`/`update` (a view's fields are inferred from its query)
   * but no DDL and no write. Throws the same 400 the real change would; otherwise resolves with the
   * collection as it would be saved (a view with its inferred fields).
   */
  async validate(idOrName: string | undefined, input: unknown): Promise<Collection> {
    if (!isPlainObject(input))
      throw badRequest("Failed to load the submitted data due to invalid formatting.");
    const before = idOrName ? this.get(idOrName) : undefined;
    const message = before ? "Failed to update collection." : "Failed to create collection.";
    let base = before;
    if (!base) {
      const type = (input.type ?? "base") as CollectionType;
      if (!["base", "auth", "view"].includes(type as string)) {
        throw badRequest(message, { type: fieldError("validation_in_invalid", "Must be a valid value.") });
      }
      base = newCollection(type, typeof input.name === "string" ? input.name : "");
    }
    const { collection, errors } = applyCollectionInput(base, input, !before);
    if (before && input.type !== undefined && input.type !== before.type) {
      errors.type = fieldError("validation_collection_type_change", "Collection type cannot be changed.");
    }
    if (Object.keys(errors).length) throw badRequest(message, errors);
    const all = [...this.byId.values()].filter((c) => c.id !== collection.id);
    all.push(collection);
    if (collection.type === "view") {
      const query = (collection.viewQuery ?? "").trim().replace(/;\s*$/, "");
      if (!query)
        throw badRequest(message, { viewQuery: fieldError("validation_required", "Cannot be blank.") });
      try {
        collection.fields = await inferViewFields(this.db, query, all);
      } catch (err) {
        const reason =
          err instanceof DbStatementError ? err.message : "the query is not a single valid SELECT";
        throw badRequest(message, {
          viewQuery: fieldError("validation_invalid_view_query", `Invalid query - ${reason}`),
        });
      }
    }
    const found = validateCollection(collection, {
      previous: before,
      all,
      checkRule: this.options.checkRule,
    });
    if (Object.keys(found).length) throw badRequest(message, found);
    return collection;
  }

  /** Deletes a collection and its table, refusing system collections and ones other collections point to. */
  async delete(idOrName: string): Promise<void> {
    const c = this.get(idOrName);
    if (c.system) throw badRequest("Failed to delete collection: system collections cannot be deleted.");
    const refs = this.list().filter(
      (o) => o.id !== c.id && o.fields.some((f) => f.type === "relation" && f.collectionId === c.id),
    );
    if (refs.length) {
      throw badRequest(
        `Failed to delete collection probably due to existing reference in ${refs.map((r) => r.name).join(", ")}.`,
      );
    }
    const views = this.list().filter(
      (o) => o.type === "view" && o.id !== c.id && o.fields.length && mentions(o, c.name),
    );
    if (views.length) {
      throw badRequest(
        `Failed to delete collection: the view ${views.map((v) => v.name).join(", ")} uses it.`,
      );
    }
    await this.commit([{ before: c, after: undefined }], "Failed to delete collection.");
  }

  /**
   * Applies a set of changes in one transaction: validates each against the whole resulting schema, writes
   * the definition rows and syncs the tables; on any error nothing is changed and a 400 is thrown.
   */
  async commit(
    changes: { before: Collection | undefined; after: Collection | undefined }[],
    failMessage: string,
    onError?: (collection: Collection, errors: ErrorData) => never,
  ): Promise<Collection> {
    const next = new Map(this.byId);
    for (const ch of changes) {
      if (ch.before) next.delete(ch.before.id);
      if (ch.after) {
        ch.after.indexes = ch.after.indexes.map((i) => {
          const parsed = parseIndex(i);
          return parsed ? formatIndex(parsed, ch.after!.name) : i;
        });
        next.set(ch.after.id, ch.after);
      }
    }
    const all = [...next.values()];
    const fail = (c: Collection, errors: ErrorData): never => {
      if (onError) return onError(c, errors);
      throw badRequest(failMessage, errors);
    };
    for (const ch of changes) {
      if (!ch.after) continue;
      if (!ch.before && this.byId.has(ch.after.id)) {
        // the default id derives from the name, so a taken name usually shows as a taken id: name both
        const errors: ErrorData = {
          id: fieldError("validation_invalid_or_existing_id", "The id is invalid or already exists."),
        };
        const name = ch.after.name.toLowerCase();
        if ([...this.byId.values()].some((o) => o.name.toLowerCase() === name)) {
          errors.name = fieldError(
            "validation_collection_name_exists",
            "Collection name must be unique (case insensitive).",
          );
        }
        fail(ch.after, errors);
      }
      if (ch.after.type === "view") continue; // validated once its fields are known, inside the transaction
      const errors = validateCollection(ch.after, {
        previous: ch.before,
        all,
        checkRule: this.options.checkRule,
      });
      if (Object.keys(errors).length) fail(ch.after, errors);
    }
    let applied = false;
    try {
      await this.db.transaction(async (tx) => {
        await this.aroundChanges(changes, async () => {
          await this.applyChanges(tx, changes, all, fail);
          applied = true;
        });
      });
    } catch (err) {
      if (err instanceof DbStatementError || err instanceof UniqueViolationError) {
        throw badRequest(`${failMessage} The database refused the change.`, {}, err);
      }
      throw err;
    }
    if (!applied) throw badRequest(failMessage);
    this.setAll(all.sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : 0)));
    const held = this.held.getStore();
    if (held) held.push(...changes);
    else await this.tell(changes);
    const last = changes[changes.length - 1];
    return (last.after ?? last.before)!;
  }

  /** Uses the app's hooks: `onCollectionCreate/Update/Delete` run inside each change's transaction. */
  useHooks(hooks: CollectionHooks): void {
    this.hooks = hooks;
  }

  private hookOf(ch: Change, after: boolean) {
    const h = this.hooks;
    if (!h) return undefined;
    if (!ch.before) return after ? h.onCollectionAfterCreateSuccess : h.onCollectionCreate;
    if (!ch.after) return after ? h.onCollectionAfterDeleteSuccess : h.onCollectionDelete;
    return after ? h.onCollectionAfterUpdateSuccess : h.onCollectionUpdate;
  }

  /** Runs each change's model hook around the next, the last around `apply`. */
  private async aroundChanges(changes: Change[], apply: () => Promise<void>, i = 0): Promise<void> {
    if (i === changes.length) return apply();
    const ch = changes[i];
    const hook = this.hookOf(ch, false);
    const collection = (ch.after ?? ch.before) as Collection;
    if (!hook?.length) return this.aroundChanges(changes, apply, i + 1);
    await hook.trigger({ collection }, () => this.aroundChanges(changes, apply, i + 1));
  }

  private async afterSuccess(ch: Change): Promise<void> {
    const hook = this.hookOf(ch, true);
    if (!hook?.length) return;
    try {
      await hook.trigger({ collection: (ch.after ?? ch.before) as Collection });
    } catch {
      // the change has committed and stands; the hook's own failure is its business
    }
  }

  private async applyChanges(
    tx: Queryable,
    changes: Change[],
    all: Collection[],
    fail: (c: Collection, errors: ErrorData) => never,
  ): Promise<void> {
    {
      // Views first out and last in: they may read the tables that change.
      const ordered = [...changes].sort((a, b) => rank(a) - rank(b));
      for (const ch of ordered.filter((x) => x.before?.type === "view")) await dropView(tx, ch.before!.name);
      for (const ch of ordered) {
        if (ch.after?.type === "view" || (ch.before?.type === "view" && !ch.after)) continue;
        await this.applyTable(tx, ch.before, ch.after);
      }
      for (const ch of ordered) {
        if (ch.after?.type !== "view") continue;
        await this.applyView(tx, ch.before, ch.after, all, fail);
      }
      for (const ch of changes) {
        if (ch.after) await saveCollectionRow(tx, ch.after, this.seal);
        else if (ch.before)
          await tx.run(`DELETE FROM ${tx.dialect.quoteIdent(COLLECTIONS_TABLE)} WHERE id = ?`, [
            ch.before.id,
          ]);
      }
    }
  }

  private async applyTable(
    tx: Queryable,
    before: Collection | undefined,
    after: Collection | undefined,
  ): Promise<void> {
    await searchIndexSync.before(tx, before, after);
    if (!after) {
      await dropTable(tx, before!.name);
      return;
    }
    const prev = before && before.type !== "view" ? collectionTableSpec(before, tx.dialect) : null;
    await syncTable(tx, prev, collectionTableSpec(after, tx.dialect));
    await searchIndexSync.after(tx, before, after);
  }

  private async applyView(
    tx: Queryable,
    before: Collection | undefined,
    after: Collection,
    all: Collection[],
    fail: (c: Collection, e: ErrorData) => never,
  ): Promise<void> {
    const query = (after.viewQuery ?? "").trim().replace(/;\s*$/, "");
    if (!query) fail(after, { viewQuery: fieldError("validation_required", "Cannot be blank.") });
    try {
      after.fields = await inferViewFields(tx, query, all);
      if (!after.fields.some((f) => f.name === "id"))
        throw new DbStatementError("the query must return an id column");
      await createView(tx, after.name, query);
    } catch (err) {
      if (
        err instanceof DbStatementError ||
        (err instanceof Error && /statement|SQL|syntax/i.test(err.message))
      ) {
        const reason =
          err instanceof DbStatementError ? err.message : "the query is not a single valid SELECT";
        return fail(after, {
          viewQuery: fieldError("validation_invalid_view_query", `Invalid query - ${reason}`),
        });
      }
      throw err;
    }
    if (before && before.name !== after.name) await dropView(tx, before.name);
    const errors = validateCollection(after, { previous: before, all, checkRule: this.options.checkRule });
    if (Object.keys(errors).length) fail(after, errors);
  }
}

function rank(ch: { before: Collection | undefined; after: Collection | undefined }): number {
  return (ch.after ?? ch.before)!.type === "view" ? 1 : 0;
}

function mentions(view: Collection, table: string): boolean {
  return new RegExp(`\\b${table}\\b`, "i").test(view.viewQuery ?? "");
}
