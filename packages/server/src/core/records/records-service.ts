// A leaf module: importing auth/index.js here would close an import cycle (auth uses core/records).
import { hashPassword } from "../../auth/passwords.js";
import type { Database, Queryable } from "../../db/index.js";
import { ApiError, badRequest, fieldError, forbidden, notFound } from "../../errors/index.js";
import type { FilesService } from "../../files/index.js";
import type { Collection, CollectionsService } from "../collections/index.js";
import type { EventBus, RecordEvent } from "../events.js";
import { authFormErrors } from "./auth-form.js";
import { deleteWithCascade } from "./cascade.js";
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
} from "./record-draft.js";
import { isSuperuserRequest, type RecordRequest, ruleSchema, toRequestInfo } from "./record-request.js";
import { enrichRows, parseExpand } from "./records-enrich.js";
import { findRowWithRule, type ListQuery, listRows, type QueryContext } from "./records-query.js";
import { insertRow, updateRow } from "./records-repo.js";
import { draftMatchesRule, fillServerValues, writeOrFail } from "./records-write.js";
import type { RecordRow } from "./serialize.js";
import { validateDraft } from "./validate-record.js";

/** What the records service is built from. */
export interface RecordsServiceDeps {
  readonly db: Database;
  readonly collections: CollectionsService;
  readonly events: EventBus;
  /** Record files (uploads before the write, deletes after the commit); none in bare unit setups. */
  readonly files?: FilesService;
  /** Work limits of client-driven reads (defaults when omitted). */
  readonly limits?: Partial<RecordsLimits>;
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
    this.writable(collection);
    const su = isSuperuserRequest(req);
    if (collection.createRule === null && !su) throw forbidden(ONLY_SUPERUSERS);
    const failed = "Failed to create record.";
    const original = defaultValues(collection);
    const data = resolveBody(collection, req.body ?? {}, original, su);
    const draft = applyData(collection, original, true, data);
    fillServerValues(draft);
    const ctx = this.queryContext(req, data);
    if (!su && collection.createRule && !(await draftMatchesRule(ctx, draft, collection.createRule))) {
      throw badRequest(failed);
    }
    await this.check(draft, data, await this.canManage(ctx, collection, draft), failed);
    if (collection.type === "auth") await this.checkAuthIdFree(collection, String(draft.values.id), failed);
    await this.hashPasswords(draft);
    const row = draftToRow(draft);
    // One INSERT is atomic on its own: no explicit transaction (and its extra round trips) needed.
    await this.writeFiles(planDraftFiles(draft), () =>
      writeOrFail(collection, failed, () => insertRow(this.q, collection, row)),
    );
    this.emit({ action: "create", collection, record: row });
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
    this.writable(collection);
    const su = isSuperuserRequest(req);
    if (collection.updateRule === null && !su) throw forbidden(ONLY_SUPERUSERS);
    const failed = "Failed to update record.";
    const before = await this.findOr404(this.queryContext(req), collection, id, null);
    const original = rowToValues(collection, before);
    const data = resolveBody(collection, req.body ?? {}, original, su);
    const ctx = this.queryContext(req, data);
    await this.findOr404(ctx, collection, id, collection.updateRule);
    const draft = applyData(collection, original, false, data);
    fillServerValues(draft);
    await this.check(draft, data, await this.canManage(ctx, collection, draft), failed);
    await this.hashPasswords(draft);
    const row = draftToRow(draft);
    delete row.id;
    await this.writeFiles(planDraftFiles(draft), () =>
      writeOrFail(collection, failed, () => updateRow(this.q, collection, id, row)),
    );
    const stored: RecordRow = { ...row, id };
    this.emit({ action: "update", collection, record: stored, before });
    return stored;
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
    this.writable(collection);
    if (collection.deleteRule === null && !isSuperuserRequest(req)) throw forbidden(ONLY_SUPERUSERS);
    await this.findOr404(this.queryContext(req), collection, id, collection.deleteRule);
    const deleted: RecordEvent[] = [];
    try {
      await this.write((q) =>
        deleteWithCascade(q, this.deps.collections.list(), collection, [id], (c, row) => {
          deleted.push({ action: "delete", collection: c, record: row });
        }),
      );
    } catch (err) {
      if (err instanceof ApiError && err.status === 400) throw badRequest(DELETE_FAILED, {}, err);
      throw err;
    }
    await this.writeFiles(
      planDeletedFiles(deleted.map((e) => ({ collection: e.collection, id: String(e.record.id) }))),
      async () => {},
    );
    for (const e of deleted) this.emit(e);
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
    const ctx = this.queryContext(req);
    return enrichRows(
      {
        collections: this.deps.collections,
        ctx,
        expandCtx: expand?.size ? this.queryContext(req, undefined, "expand") : ctx,
        authId: req.auth ? String(req.auth.record.id) : null,
        authCollectionId: req.auth?.collection.id ?? null,
        budget: opts.budget ?? this.expandBudget(),
      },
      collection,
      rows,
      expand,
      fields,
    );
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
      await settleFilePlans(this.deps.files, plans, false);
      throw err;
    }
    await settleFilePlans(this.deps.files, plans, true);
    for (const e of pending) this.deps.events.emit("record", e);
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

  private async hashPasswords(draft: RecordDraft): Promise<void> {
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

  private emit(event: RecordEvent): void {
    if (this.pending) this.pending.push(event);
    else this.deps.events.emit("record", event);
  }
}
