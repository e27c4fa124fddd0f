import type { RequestAuth } from "../auth/index.js";
import type { App } from "../core/app.js";
import type { Collection } from "../core/collections/index.js";
import type { RequestEvent, RequestHookName } from "../core/events.js";
import type { ExpandBudget, RecordRequest, RecordsService } from "../core/records/index.js";
import { badRequest, fieldError, notFound } from "../errors/index.js";
import { UploadedFile } from "../files/index.js";
import { isPlainObject } from "../util/index.js";
import { readListParams } from "./list-params.js";

/** One records operation as a route or a batch item asks for it. */
export interface RecordAction {
  readonly kind: "list" | "view" | "create" | "update" | "upsert" | "delete";
  readonly collection: string;
  readonly id?: string;
  /** Query parameters (first value of each). */
  readonly query: Record<string, string>;
  readonly body?: unknown;
}

/** Who is calling, as the HTTP layer knows it. */
export interface ActionCaller {
  readonly auth: RequestAuth | null;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly method: string;
  readonly context: string;
  /** Shared by every action of one batch; a fresh one per action when omitted. */
  readonly expandBudget?: ExpandBudget;
  /** The client's address and the URL asked for (what request hooks see). */
  readonly ip?: string;
  readonly url?: string;
}

/** The first value of each query parameter, as strings. */
export function flatQuery(query: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isPlainObject(query)) return out;
  for (const [k, v] of Object.entries(query)) {
    const first = Array.isArray(v) ? v[0] : v;
    if (typeof first === "string") out[k] = first;
  }
  return out;
}

/** Finds the collection a records route names, or PocketBase's 404. */
export function collectionOr404(app: App, idOrName: string): Collection {
  const c = app.collections.find(idOrName);
  if (!c) throw notFound("Missing collection context.");
  return c;
}

function bodyOf(collection: Collection, body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (!isPlainObject(body)) throw badRequest("Failed to load the submitted data due to invalid formatting.");
  // an uploaded file under a key that takes none is refused, never silently dropped
  for (const [key, value] of Object.entries(body)) {
    const hasFile =
      value instanceof UploadedFile || (Array.isArray(value) && value.some((v) => v instanceof UploadedFile));
    if (!hasFile) continue;
    const name = key.replace(/^\+/, "").replace(/\+$/, "");
    if (!collection.fields.some((f) => f.type === "file" && f.name === name)) {
      throw badRequest("Failed to load the submitted data.", {
        [name]: fieldError("validation_invalid_file_field", "This field does not accept file uploads."),
      });
    }
  }
  return body;
}

type ActionResult = { status: number; body: unknown };

const REQUEST_HOOKS: Record<RecordAction["kind"], RequestHookName> = {
  list: "onRecordsListRequest",
  view: "onRecordViewRequest",
  create: "onRecordCreateRequest",
  update: "onRecordUpdateRequest",
  upsert: "onRecordCreateRequest",
  delete: "onRecordDeleteRequest",
};

/** The request hook of an action (an upsert of an existing record is an update). */
async function upsertHookOf(app: App, records: RecordsService, collection: Collection, action: RecordAction) {
  const id = isPlainObject(action.body) ? action.body.id : undefined;
  if (typeof id !== "string" || id === "") return app.hooks.onRecordCreateRequest;
  const q = records.queryContext({ auth: null }).q;
  const t = q.dialect.quoteIdent;
  const exists = await q.get(`SELECT 1 FROM ${t(collection.name)} WHERE ${t("id")} = ?`, [id]);
  return exists ? app.hooks.onRecordUpdateRequest : app.hooks.onRecordCreateRequest;
}

/**
 * Runs one records operation through the records service and returns PocketBase's status and JSON body
 * (records enriched with `expand`/`fields` as the query asks), inside its request hook
 * (`onRecordCreateRequest`, …) when handlers are bound. Errors are thrown as ApiErrors.
 */
export async function runRecordAction(
  app: App,
  records: RecordsService,
  action: RecordAction,
  caller: ActionCaller,
): Promise<ActionResult> {
  const collection = collectionOr404(app, action.collection);
  const body =
    action.kind === "create" || action.kind === "update" || action.kind === "upsert"
      ? bodyOf(collection, action.body)
      : undefined;
  const hook =
    action.kind !== "upsert"
      ? app.hooks[REQUEST_HOOKS[action.kind]]
      : app.hooks.onRecordCreateRequest.length || app.hooks.onRecordUpdateRequest.length
        ? await upsertHookOf(app, records, collection, action)
        : undefined;
  if (!hook?.hasFor(collection)) return perform(records, collection, action, caller, body);
  const e = {
    request: {
      method: caller.method,
      url: caller.url ?? "",
      headers: caller.headers,
      query: action.query,
      params: { collection: action.collection, ...(action.id ? { id: action.id } : {}) },
      auth: caller.auth,
      ip: caller.ip ?? "",
    },
    collection,
    body: body ?? {},
    ...(action.id ? { id: action.id } : {}),
  } as Omit<RequestEvent, "next">;
  await hook.trigger(e, () =>
    perform(records, collection, action, caller, body ? e.body : undefined).then((result) => {
      e.response = result;
      if (isPlainObject(result.body) && action.kind !== "list") e.record = result.body;
    }),
  );
  return e.response ? { status: e.response.status, body: e.response.body } : { status: 204, body: null };
}

async function perform(
  records: RecordsService,
  collection: Collection,
  action: RecordAction,
  caller: ActionCaller,
  body: Record<string, unknown> | undefined,
): Promise<ActionResult> {
  const req: RecordRequest = {
    auth: caller.auth,
    headers: caller.headers,
    method: caller.method,
    context: caller.context,
    query: action.query,
    body,
  };
  const opts = { expand: action.query.expand, fields: action.query.fields, budget: caller.expandBudget };
  switch (action.kind) {
    case "list": {
      const page = await records.list(collection, req, readListParams(action.query));
      const items = await records.enrich(collection, page.items, req, opts);
      return { status: 200, body: { ...page, items } };
    }
    case "view": {
      const row = await records.view(collection, action.id ?? "", req);
      return { status: 200, body: (await records.enrich(collection, [row], req, opts))[0] };
    }
    case "create":
    case "update":
    case "upsert": {
      const row =
        action.kind === "create"
          ? await records.create(collection, req)
          : action.kind === "update"
            ? await records.update(collection, action.id ?? "", req)
            : await records.upsert(collection, req);
      return { status: 200, body: (await records.enrich(collection, [row], req, opts))[0] };
    }
    case "delete":
      await records.delete(collection, action.id ?? "", req);
      return { status: 204, body: null };
  }
}
