// A leaf module: importing auth/index.js here would close an import cycle (auth uses core/records).
import { hashPassword } from "../../auth/passwords.js";
import type { Database, Queryable } from "../../db/index.js";
import { ApiError, badRequest, fieldError, forbidden, notFound } from "../../errors/index.js";
import type { FilesService } from "../../files/index.js";
import type { Collection, CollectionsService } from "../collections/index.js";
import type { AppHooks, EventBus, RecordEvent, RecordModelEvent, RecordsTx } from "../events.js";
import { passedThrough } from "../hook.js";
import { authFormErrors } from "./auth-form.js";
import { type DeleteAround, deleteWithCascade } from "./cascade.js";
import { DEFAULT_EXPAND_MAX_RECORDS, ExpandBudget } from "./expand-budget.js";
import {
  type FilesPlan,
  planDeletedFiles,
  planDraftFiles,
  settleFilePlans,
  writeWithFiles,
} from "./files-plan.js";
import { type FieldsSpec, parseFields } from "./pick-fields.js";
import {
  applyData,
  defaultValues,
  draftToRow,
  type RecordDraft,
  resolveBody,
  rowToValues,
  typedBody,
} from "./record-draft.js";
import {
  checkScope,
  isSuperuserRequest,
  type RecordRequest,
  ruleSchema,
  scopeAllows,
  toRequestInfo,
} from "./record-request.js";
import {
  backRelatedRows,
  type EnrichContext,
  enrichRows,
  parseExpand,
  relatedRows,
} from "./records-enrich.js";
import { findRowWithRule, type ListQuery, listRows, type QueryContext } from "./records-query.js";
import { insertRow, updateRow } from "./records-repo.js";
import { draftMatchesRule, fillServerValues, writeOrFail } from "./records-write.js";
import type { RecordRow } from "./serialize.js";
import { validateDraft } from "./validate-record.js";

const SETTLED = Promise.resolve();

/** Whether an object has an own enumerable key (without listing them). */
function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

/** What the records service is built from. */
export interface RecordsServiceDeps {
  readonly db: Database;
  readonly collections: CollectionsService;
  readonly events: EventBus;
  /** Record files (uploads before the write, deletes after the commit); none in bare unit setups. */
  readonly files?: FilesService;
  /** Work limits of client-driven reads (defaults when omitted). */
  readonly limits?: Partial<RecordsLimits>;
  /** The app's hooks; model hooks run inside each write's transaction. */
  readonly hooks?: AppHooks;
  /** Where a failing `…AfterSuccess` hook is reported (the write has committed and stands). */
  readonly onHookError?: (err: unknown, hook: string) => void;
  /** Makes the records a model hook may use inside a transaction (see RecordsClient). */
  readonly txClient?: (records: RecordsService) => RecordsTx;
}

/** Work limits of client-driven reads (issue 10). */
export interface RecordsLimits {
  /** Expanded records one response, realtime event or batch may hold. */
  readonly expandMaxRecords: number;
  /** Multi-valued relation hops one client filter/sort path may take. */
  readonly filterMaxFanout: number;
  /** Joined tables one client filter or sort may need. */
  readonly filterMaxJoins: number;
  /** How long one client-driven query may run, in ms. */
  readonly queryTimeoutMs: number;
}

type WriteKind = "Create" | "Update" | "Delete";

/** The model hooks of each kind of write, by name (looked up by constant keys, not built per write). */
const WRITE_HOOKS = {
  Create: {
    main: "onRecordCreate",
    execute: "onRecordCreateExecute",
    error: "onRecordAfterCreateError",
    success: "onRecordAfterCreateSuccess",
  },
  Update: {
    main: "onRecordUpdate",
    execute: "onRecordUpdateExecute",
    error: "onRecordAfterUpdateError",
    success: "onRecordAfterUpdateSuccess",
  },
  Delete: {
    main: "onRecordDelete",
    execute: "onRecordDeleteExecute",
    error: "onRecordAfterDeleteError",
    success: "onRecordAfterDeleteSuccess",
  },
} as const;

/** A page of records as PocketBase's list answers it (items still as stored rows). */
export interface RecordsPage {
  page: number;
  perPage: number;
  totalItems: number;
  totalPages: number;
  items: RecordRow[];
}

/** Default multi-valued relation hops one client filter/sort path may take. */
export const DEFAULT_FILTER_MAX_FANOUT = 2;
/** Default time limit of one client-driven query, in ms. */
export const DEFAULT_QUERY_TIMEOUT_MS = 3000;
/** Default joined tables one client filter or sort may need. */
export const DEFAULT_FILTER_MAX_JOINS = 12;

const ONLY_SUPERUSERS = "Only superusers can perform this action.";
const DELETE_FAILED =
  "Failed to delete record. Make sure that the record is not part of a required relation reference.";

/**
 * The one place records are read and written: list, view, create, update, upsert and delete, each checking
 * the collection's access rule for the request it is given, validating input, writing in a transaction
 * and emitting record events only after the commit. REST, batch, realtime and hooks all go through it.
 */
export class RecordsService {
  constructor(
    private readonly deps: RecordsServiceDeps,
    private readonly q: Queryable = deps.db,
    private readonly pending: RecordEvent[] | null = null,
    private readonly filePlans: FilesPlan[] | null = null,
  ) {}

  /** The query context of a request (optionally with a replaced body or rule context). */
  queryContext(req: RecordRequest, body?: Record<string, unknown>, context?: string): QueryContext {
    return {
      // reads a client drives run with a time limit (issue 10)
      q: this.q.bounded(this.deps.limits?.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS),
      schema: ruleSchema(this.deps.collections),
      schemaVersion: this.deps.collections.version,
      request: toRequestInfo(req, body, context),
      isSuperuser: isSuperuserRequest(req),
      filterLimits: {
        maxFanout: this.deps.limits?.filterMaxFanout ?? DEFAULT_FILTER_MAX_FANOUT,
        maxJoins: this.deps.limits?.filterMaxJoins ?? DEFAULT_FILTER_MAX_JOINS,
      },
    };
  }

  /** One page of records the caller's list rule lets it see, filtered and sorted as asked. */
  async list(collection: Collection, req: RecordRequest, params: ListQuery): Promise<RecordsPage> {
    checkScope(req, collection, "list");
    if (collection.listRule === null && !isSuperuserRequest(req)) throw forbidden(ONLY_SUPERUSERS);
    const { rows, total } = await listRows(this.queryContext(req), collection, params);
    return {
      page: params.page,
      perPage: params.perPage,
      totalItems: total ?? -1,
      totalPages: total === null ? -1 : Math.ceil(total / params.perPage),
      items: rows,
    };
  }

  /** One record the caller's view rule lets it see, or 404. */
  async view(collection: Collection, id: string, req: RecordRequest): Promise<RecordRow> {
    checkScope(req, collection, "view");
    if (collection.viewRule === null && !isSuperuserRequest(req)) throw forbidden(ONLY_SUPERUSERS);
    return this.findOr404(this.queryContext(req), collection, id, collection.viewRule);
  }

  private async findOr404(
    ctx: QueryContext,
    collection: Collection,
    id: string,
    rule: string | null,
  ): Promise<RecordRow> {
    let row: RecordRow | undefined;
    try {
      row = id ? await findRowWithRule(ctx, collection, id, rule) : undefined;
    } catch (err) {
      if (err instanceof ApiError && err.status < 500) throw notFound(undefined, err);
      throw err;
    }
    if (!row) throw notFound();
    return row;
  }

  private writable(collection: Collection): void {
    if (collection.type === "view") throw badRequest("Unsupported collection type.");
  }

  /** Whether the caller may manage an auth record (superuser, or the collection's manageRule matches). */
  private async canManage(ctx: QueryContext, collection: Collection, draft: RecordDraft): Promise<boolean> {
    if (ctx.isSuperuser) return true;
    const rule = collection.manageRule;
    if (collection.type !== "auth" || !rule || !ctx.request.auth) return false;
    if (draft.isNew) return draftMatchesRule(ctx, draft, rule);
    try {
      return (await findRowWithRule(ctx, collection, String(draft.original.id), rule)) !== undefined;
    } catch {
      return false;
    }
  }

  /** Creates a record from `req.body`, checking the create rule against the submitted values. */
  async create(collection: Collection, req: RecordRequest): Promise<RecordRow> {
    checkScope(req, collection, "create");
    this.writable(collection);
    const su = isSuperuserRequest(req);
    if (collection.createRule === null && !su) throw forbidden(ONLY_SUPERUSERS);
    const failed = "Failed to create record.";
    const original = defaultValues(collection);
    const data = resolveBody(collection, req.body ?? {}, original, su);
    const draft = applyData(collection, original, true, data);
    fillServerValues(draft);
    const ctx = this.queryContext(req, typedBody(collection, data));
    if (!su && collection.createRule && !(await draftMatchesRule(ctx, draft, collection.createRule))) {
      throw badRequest(failed);
    }
    const manage = await this.canManage(ctx, collection, draft);
    if (this.hooked("Create", collection)) {
      // a create that opens its own transaction may let its INSERT commit on its own (see createHooked)
      const ownTx = this.pending === null;
      return this.transaction((records) => records.createHooked(draft, data, manage, failed, ownTx));
    }
    await this.check(draft, data, manage, failed);
    if (collection.type === "auth") await this.checkAuthIdFree(collection, String(draft.values.id), failed);
    await this.hashPasswords(draft);
    const row = draftToRow(draft);
    // One INSERT is atomic on its own: no explicit transaction (and its extra round trips) needed.
    await this.writeFiles(planDraftFiles(draft), () =>
      writeOrFail(collection, failed, () => insertRow(this.q, collection, row)),
    );
    await this.emit({ action: "create", collection, record: row });
    return row;
  }

  /** Whether a write to this collection has model hooks to run (then it runs in a transaction). */
  private hooked(kind: WriteKind, collection: Collection): boolean {
    const h = this.deps.hooks;
    if (!h) return false;
    if (kind === "Delete") return h.onRecordDelete.length > 0 || h.onRecordDeleteExecute.length > 0;
    const names = WRITE_HOOKS[kind];
    return (
      h[names.main].hasFor(collection) ||
      h[names.execute].hasFor(collection) ||
      h.onRecordValidate.hasFor(collection) ||
      h[names.error].hasFor(collection)
    );
  }

  /** The model event of a write in this (transaction-bound) service. */
  private modelEvent(collection: Collection, record: Record<string, unknown>, original?: RecordRow) {
    const tx = this.deps.txClient?.(this) as RecordsTx;
    return { collection, record, tx, ...(original ? { original } : {}) } as RecordModelEvent;
  }

  /** Runs a write's hook chain; a failure fires `onRecordAfter…Error` before it propagates. */
  private withErrorHook(kind: WriteKind, e: RecordModelEvent, fn: () => Promise<void>): Promise<void> {
    const failed = async (error: unknown): Promise<never> => {
      const hooks = this.deps.hooks as AppHooks;
      await hooks[WRITE_HOOKS[kind].error].trigger({ ...e, error } as never).catch(() => {});
      throw error;
    };
    let chain: Promise<void>;
    try {
      chain = fn();
    } catch (error) {
      return failed(error);
    }
    return chain.catch(failed);
  }

  /** A create with its model hooks, inside the transaction this service is bound to. */
  private async createHooked(
    draft: RecordDraft,
    data: Record<string, unknown>,
    manage: boolean,
    failed: string,
    ownTx: boolean,
  ): Promise<RecordRow> {
    const hooks = this.deps.hooks as AppHooks;
    const collection = draft.collection;
    const e = this.modelEvent(collection, draft.values);
    let row: RecordRow | undefined;
    await this.withErrorHook("Create", e, () =>
      hooks.onRecordCreate.trigger(e, async () => {
        if (e.record !== draft.values) Object.assign(draft.values, e.record);
        await hooks.onRecordValidate.trigger(e, () => this.check(draft, data, manage, failed));
        if (collection.type === "auth") {
          await this.checkAuthIdFree(collection, String(draft.values.id), failed);
        }
        await this.hashPasswords(draft);
        await hooks.onRecordCreateExecute.trigger(e, async () => {
          if (ownTx && this.q.commitWithNext) {
            // One turn of the microtask queue lets the handlers that called `e.next()` answer first. When
            // each handler of this write passed its own `e.next()` on (nothing of theirs runs after the
            // INSERT, so nothing can still refuse it) and nothing ran in the transaction before, the INSERT
            // commits on its own: the same outcome as inside the transaction, without the BEGIN and COMMIT
            // around it (~20 µs of a hooked create's CPU; README "What hooks cost").
            await SETTLED;
            if (passedThrough(e)) this.q.commitWithNext();
          }
          const values = draftToRow(draft);
          await this.writeFiles(planDraftFiles(draft), () =>
            writeOrFail(collection, failed, () => insertRow(this.q, collection, values)),
          );
          row = values;
        });
      }),
    );
    if (!row) throw badRequest(failed);
    await this.emit({ action: "create", collection, record: row });
    return row;
  }

  /**
   * Refuses an auth record id that another auth collection already uses: rules compare `@request.auth.id`
   * with stored ids, so a `staff` record registered with a user's id could otherwise act as that user.
   */
  private async checkAuthIdFree(collection: Collection, id: string, failed: string): Promise<void> {
    const t = this.q.dialect.quoteIdent;
    for (const other of this.deps.collections.list()) {
      if (other.type !== "auth" || other.id === collection.id) continue;
      if (await this.q.get(`SELECT 1 FROM ${t(other.name)} WHERE ${t("id")} = ?`, [id])) {
        throw badRequest(failed, {
          id: fieldError("validation_invalid_or_existing_id", "The id is invalid or already exists."),
        });
      }
    }
  }

  /** Updates a record from `req.body`; the update rule sees the stored record and the resolved body. */
  async update(collection: Collection, id: string, req: RecordRequest): Promise<RecordRow> {
    checkScope(req, collection, "update");
    this.writable(collection);
    const su = isSuperuserRequest(req);
    if (collection.updateRule === null && !su) throw forbidden(ONLY_SUPERUSERS);
    const failed = "Failed to update record.";
    const before = await this.findOr404(this.queryContext(req), collection, id, null);
    const original = rowToValues(collection, before);
    const data = resolveBody(collection, req.body ?? {}, original, su);
    const ctx = this.queryContext(req, typedBody(collection, data));
    await this.findOr404(ctx, collection, id, collection.updateRule);
    const draft = applyData(collection, original, false, data);
    fillServerValues(draft);
    const manage = await this.canManage(ctx, collection, draft);
    if (this.hooked("Update", collection)) {
      return this.transaction((records) => records.updateHooked(draft, data, manage, failed, before));
    }
    await this.check(draft, data, manage, failed);
    await this.hashPasswords(draft);
    const row = draftToRow(draft);
    delete row.id;
    await this.writeFiles(planDraftFiles(draft), () =>
      writeOrFail(collection, failed, () => updateRow(this.q, collection, id, row)),
    );
    const stored: RecordRow = { ...row, id };
    await this.emit({ action: "update", collection, record: stored, before });
    return stored;
  }

  /** An update with its model hooks, inside the transaction this service is bound to. */
  private async updateHooked(
    draft: RecordDraft,
    data: Record<string, unknown>,
    manage: boolean,
    failed: string,
    before: RecordRow,
  ): Promise<RecordRow> {
    const hooks = this.deps.hooks as AppHooks;
    const collection = draft.collection;
    const id = String(before.id);
    const e = this.modelEvent(collection, draft.values, before);
    let stored: RecordRow | undefined;
    await this.withErrorHook("Update", e, () =>
      hooks.onRecordUpdate.trigger(e, async () => {
        if (e.record !== draft.values) Object.assign(draft.values, e.record);
        await hooks.onRecordValidate.trigger(e, () => this.check(draft, data, manage, failed));
        await this.hashPasswords(draft);
        await hooks.onRecordUpdateExecute.trigger(e, async () => {
          const row = draftToRow(draft);
          delete row.id;
          await this.writeFiles(planDraftFiles(draft), () =>
            writeOrFail(collection, failed, () => updateRow(this.q, collection, id, row)),
          );
          stored = { ...row, id };
        });
      }),
    );
    if (!stored) throw badRequest(failed);
    await this.emit({ action: "update", collection, record: stored, before });
    return stored;
  }

  /**
   * A write the auth system makes to a record (verification, password reset, e-mail change, OAuth2): the
   * update model hooks run around `write` inside a transaction, and the change is emitted after the
   * commit like any other update. Handlers see the record's values (changes they make are not written).
   */
  async systemUpdate(
    collection: Collection,
    before: RecordRow,
    write: (q: Queryable) => Promise<RecordRow>,
  ): Promise<RecordRow> {
    if (!this.hooked("Update", collection)) {
      const after = await write(this.q);
      if (after !== before) await this.emit({ action: "update", collection, record: after, before });
      return after;
    }
    return this.transaction(async (records) => {
      const hooks = records.deps.hooks as AppHooks;
      const e = records.modelEvent(collection, { ...before }, before);
      let after: RecordRow | undefined;
      await records.withErrorHook("Update", e, () =>
        hooks.onRecordUpdate.trigger(e, () =>
          hooks.onRecordUpdateExecute.trigger(e, async () => {
            after = await write(records.q);
            e.record = { ...after };
          }),
        ),
      );
      if (!after) throw badRequest("Failed to update record.");
      if (after !== before) await records.emit({ action: "update", collection, record: after, before });
      return after;
    });
  }

  /** A row the system writes as it is (e.g. `_externalAuths` links), with the create model hooks. */
  async systemInsert(collection: Collection, row: RecordRow): Promise<RecordRow> {
    if (!this.hooked("Create", collection)) {
      await insertRow(this.q, collection, row as never);
      await this.emit({ action: "create", collection, record: row });
      return row;
    }
    return this.transaction(async (records) => {
      const hooks = records.deps.hooks as AppHooks;
      const e = records.modelEvent(collection, row);
      let done = false;
      await records.withErrorHook("Create", e, () =>
        hooks.onRecordCreate.trigger(e, () =>
          hooks.onRecordCreateExecute.trigger(e, async () => {
            await insertRow(records.q, collection, e.record as never);
            done = true;
          }),
        ),
      );
      if (!done) throw badRequest("Failed to create record.");
      await records.emit({ action: "create", collection, record: e.record as RecordRow });
      return e.record as RecordRow;
    });
  }

  /** Creates the record, or updates it when `body.id` names an existing one (batch `PUT`). */
  async upsert(collection: Collection, req: RecordRequest): Promise<RecordRow> {
    const id = req.body?.id;
    if (typeof id === "string" && id !== "") {
      const t = this.q.dialect.quoteIdent;
      const exists = await this.q.get(`SELECT 1 FROM ${t(collection.name)} WHERE ${t("id")} = ?`, [id]);
      if (exists) return this.update(collection, id, req);
    }
    return this.create(collection, req);
  }

  /** Deletes a record and, in the same transaction, its cascade dependants. */
  async delete(collection: Collection, id: string, req: RecordRequest): Promise<void> {
    checkScope(req, collection, "delete");
    this.writable(collection);
    if (collection.deleteRule === null && !isSuperuserRequest(req)) throw forbidden(ONLY_SUPERUSERS);
    await this.findOr404(this.queryContext(req), collection, id, collection.deleteRule);
    if (this.hooked("Delete", collection)) {
      await this.transaction((records) => records.deleteHooked(collection, id));
      return;
    }
    await this.deleteRows(collection, id);
  }

  /**
   * Empties a collection the way PocketBase does, when delete model hooks are bound (else returns false and
   * does nothing: a bulk delete is then the same): in one transaction, every record deleted as the system,
   * 500 ids at a time, its cascade included, with the hooks around each deletion; the events (realtime,
   * webhooks, `…AfterDeleteSuccess`) follow the commit. A handler's throw rolls the whole truncation back;
   * a handler that answers without going on keeps its record.
   */
  async truncateHooked(collection: Collection): Promise<boolean> {
    if (!this.hooked("Delete", collection)) return false;
    const system: RecordRequest = { auth: null, system: true, method: "DELETE", context: "default" };
    await this.transaction(async (records) => {
      const q = records.queryContext(system).q;
      const t = q.dialect.quoteIdent;
      // in id order, past the last one seen: a record a handler kept (answering without going on) stays
      // behind, and the truncation still ends
      let last = "";
      for (;;) {
        const ids = (
          await q.all<{ id: string }>(
            `SELECT ${t("id")} FROM ${t(collection.name)} WHERE ${t("id")} > ? ORDER BY ${t("id")} LIMIT 500`,
            [last],
          )
        ).map((r) => String(r.id));
        if (!ids.length) return;
        last = ids[ids.length - 1];
        for (const id of ids) {
          try {
            await records.delete(collection, id, system);
          } catch (err) {
            // already gone with an earlier record's cascade
            if (!(err instanceof ApiError && err.status === 404)) throw err;
          }
        }
      }
    });
    return true;
  }

  /** Deletes `id` and its cascade, with the delete model hooks around each record's deletion. */
  private async deleteHooked(collection: Collection, id: string): Promise<void> {
    const hooks = this.deps.hooks as AppHooks;
    // a refusal thrown by a handler answers as it is; only the cascade's own failures become PocketBase's
    // "Failed to delete record" 400
    const cascadeErrors = new WeakSet<object>();
    const around: DeleteAround = (c, row, exec) => {
      const e = this.modelEvent(c, row);
      const run = () =>
        exec().catch((err: unknown) => {
          if (typeof err === "object" && err !== null) cascadeErrors.add(err);
          throw err;
        });
      return hooks.onRecordDelete.trigger(e, () => hooks.onRecordDeleteExecute.trigger(e, run));
    };
    const row = await this.q.get<RecordRow>(
      `SELECT * FROM ${this.q.dialect.quoteIdent(collection.name)} WHERE ${this.q.dialect.quoteIdent("id")} = ?`,
      [id],
    );
    await this.withErrorHook("Delete", this.modelEvent(collection, row ?? { id }), () =>
      this.deleteRows(collection, id, around, (err) => cascadeErrors.has(err as object)),
    );
  }

  private async deleteRows(
    collection: Collection,
    id: string,
    around?: DeleteAround,
    fromCascade: (err: unknown) => boolean = () => true,
  ): Promise<void> {
    const deleted: RecordEvent[] = [];
    try {
      await this.write((q) =>
        deleteWithCascade(
          q,
          this.deps.collections.list(),
          collection,
          [id],
          (c, row) => {
            deleted.push({ action: "delete", collection: c, record: row });
          },
          new Set(),
          around,
        ),
      );
    } catch (err) {
      if (err instanceof ApiError && err.status === 400 && fromCascade(err))
        throw badRequest(DELETE_FAILED, {}, err);
      throw err;
    }
    await this.writeFiles(
      planDeletedFiles(deleted.map((e) => ({ collection: e.collection, id: String(e.record.id) }))),
      async () => {},
    );
    for (const e of deleted) await this.emit(e);
  }

  /**
   * The API JSON of rows for this caller: visibility (hidden fields, e-mails), `expand` (each expanded record
   * checked against its own view rule, in the `expand` rule context) and `fields` picking.
   */
  async enrich(
    collection: Collection,
    rows: RecordRow[],
    req: RecordRequest,
    opts: { expand?: string; fields?: string; budget?: ExpandBudget } = {},
  ): Promise<Record<string, unknown>[]> {
    const fields: FieldsSpec | null = opts.fields ? parseFields(opts.fields) : null;
    const expand = opts.expand ? parseExpand(opts.expand) : null;
    const e = this.enrichContext(req, !!expand?.size, opts.budget ?? this.expandBudget());
    const out = await enrichRows(e, collection, rows, expand, fields);
    return this.triggerEnrich(collection, out, req, req.context ?? "default");
  }

  /** `onRecordEnrich` on each record JSON of a collection: what the handlers left of them, in order. */
  private async triggerEnrich(
    collection: Collection,
    out: Record<string, unknown>[],
    req: RecordRequest,
    context: string,
  ): Promise<Record<string, unknown>[]> {
    const hook = this.deps.hooks?.onRecordEnrich;
    if (!hook?.hasFor(collection)) return out;
    for (let i = 0; i < out.length; i++) {
      const ev = { collection, record: out[i], auth: req.auth, context };
      await hook.trigger(ev);
      out[i] = ev.record;
    }
    return out;
  }

  private enrichContext(req: RecordRequest, expanding: boolean, budget: ExpandBudget): EnrichContext {
    const ctx = this.queryContext(req);
    const hook = this.deps.hooks?.onRecordEnrich;
    return {
      collections: this.deps.collections,
      ctx,
      expandCtx: expanding ? this.queryContext(req, undefined, "expand") : ctx,
      authId: req.auth ? String(req.auth.record.id) : null,
      authCollectionId: req.auth?.collection.id ?? null,
      budget,
      // expanded records go through onRecordEnrich too, in the `expand` context (as in PocketBase)
      ...(expanding && hook
        ? {
            enrichExpanded: (c: Collection, json: Record<string, unknown>[]) =>
              this.triggerEnrich(c, json, req, "expand"),
          }
        : {}),
      ...(req.auth?.apiKey?.scope ? { canView: (c: Collection) => scopeAllows(req, c, "view") } : {}),
    };
  }

  /**
   * The records with these ids that a relation field of `collection` points to, as `expand` loads them (the
   * field must be visible to the caller, each record matches its own view rule in the `expand` context), for
   * loading the relations of many records at once (GraphQL); counted against `budget`. Null when the field
   * cannot be expanded.
   */
  async related(
    collection: Collection,
    fieldName: string,
    ids: readonly string[],
    req: RecordRequest,
    budget: ExpandBudget,
  ): Promise<{ target: Collection; rows: RecordRow[] } | null> {
    const found = await relatedRows(this.enrichContext(req, true, budget), collection, fieldName, ids);
    return found && { target: found.target, rows: found.rows };
  }

  /**
   * The records of `sourceName` whose relation `fieldName` points to one of `parentIds` (the
   * `<source>_via_<field>` back-relation of `expand`), each matching the source's view rule in the `expand`
   * context, at most 1,000 in all, counted against `budget`. Null when the back-relation cannot be expanded.
   */
  async backRelated(
    collection: Collection,
    sourceName: string,
    fieldName: string,
    parentIds: readonly string[],
    req: RecordRequest,
    budget: ExpandBudget,
  ): Promise<{ source: Collection; rows: RecordRow[] } | null> {
    const e = this.enrichContext(req, true, budget);
    const found = await backRelatedRows(e, collection, sourceName, fieldName, parentIds);
    return found && { source: found.source, rows: found.rows };
  }

  /** A fresh expanded-records budget, to share between the `enrich` calls of one batch or realtime event. */
  expandBudget(): ExpandBudget {
    return new ExpandBudget(this.deps.limits?.expandMaxRecords ?? DEFAULT_EXPAND_MAX_RECORDS);
  }

  /**
   * Runs `fn` with a records service bound to one transaction: every write in it commits together or not
   * at all, and the record events are emitted only after the commit.
   */
  async transaction<T>(fn: (records: RecordsService) => Promise<T>): Promise<T> {
    if (this.pending) return fn(this);
    const pending: RecordEvent[] = [];
    const plans: FilesPlan[] = [];
    let result: T;
    try {
      result = await this.deps.db.transaction((tx) => fn(new RecordsService(this.deps, tx, pending, plans)));
    } catch (err) {
      if (plans.length) await settleFilePlans(this.deps.files, plans, false);
      throw err;
    }
    if (plans.length) await settleFilePlans(this.deps.files, plans, true);
    for (const e of pending) {
      this.deps.events.emit("record", e);
      await this.afterSuccess(e);
    }
    return result;
  }

  private async check(draft: RecordDraft, data: Record<string, unknown>, manage: boolean, failed: string) {
    if (draft.collection.type === "auth") {
      const formErrors = await authFormErrors(draft, data, manage);
      if (Object.keys(formErrors).length) throw badRequest(failed, formErrors);
    }
    const errors = await validateDraft(this.q, this.deps.collections, draft);
    if (Object.keys(errors).length) throw badRequest(failed, errors);
  }

  /** Hashes the draft's new passwords; a draft without one is answered at once, with no async call. */
  private hashPasswords(draft: RecordDraft): Promise<void> {
    return hasKeys(draft.plainPasswords) ? this.hashEach(draft) : SETTLED;
  }

  private async hashEach(draft: RecordDraft): Promise<void> {
    for (const [name, plain] of Object.entries(draft.plainPasswords)) {
      draft.values[name] = await hashPassword(plain);
    }
  }

  /** A row write with its files (see {@link writeWithFiles}); in a transaction the plan waits for its end. */
  private writeFiles<T>(plan: FilesPlan | null, write: () => Promise<T>): Promise<T> {
    return writeWithFiles(this.deps.files, plan, this.filePlans, write);
  }

  private write<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.pending ? fn(this.q) : this.q.transaction(fn);
  }

  private async emit(event: RecordEvent): Promise<void> {
    if (this.pending) {
      this.pending.push(event);
      return;
    }
    this.deps.events.emit("record", event);
    await this.afterSuccess(event);
  }

  /** `onRecordAfter…Success` of a committed change; a failure is reported, the write stands. */
  private async afterSuccess(event: RecordEvent): Promise<void> {
    const hooks = this.deps.hooks;
    if (!hooks) return;
    const kind = event.action === "create" ? "Create" : event.action === "update" ? "Update" : "Delete";
    const hook = hooks[WRITE_HOOKS[kind].success];
    if (!hook.hasFor(event.collection)) return;
    const e = new RecordsService(this.deps).modelEvent(event.collection, event.record, event.before);
    try {
      await hook.trigger(e);
    } catch (err) {
      this.deps.onHookError?.(err, hook.name);
    }
  }
}
