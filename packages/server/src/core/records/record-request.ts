import type { RequestAuth } from "../../auth/index.js";
import { forbidden } from "../../errors/index.js";
import type { RequestInfo, RuleCollection, RuleSchema } from "../../rules/index.js";
import type { Collection, CollectionsService } from "../collections/index.js";

/** The record actions an API key's scope names (issue 18). */
export const API_KEY_ACTIONS = ["list", "view", "create", "update", "delete"] as const;
/** One of API_KEY_ACTIONS. */
export type ApiKeyAction = (typeof API_KEY_ACTIONS)[number];
/** An API key's scope: collection id → the actions allowed on it; any other collection or action is refused. */
export type ApiKeyScope = Readonly<Record<string, readonly ApiKeyAction[]>>;

/** Whether the request's API key (if any) may run `action` on `collection`; requests without a scope may. */
export function scopeAllows(req: RecordRequest, collection: Collection, action: ApiKeyAction): boolean {
  const scope = req.auth?.apiKey?.scope;
  if (!scope || req.system) return true;
  return scope[collection.id]?.includes(action) ?? false;
}

/** Throws 403 when the request's API key's scope leaves out `action` on `collection`. */
export function checkScope(req: RecordRequest, collection: Collection, action: ApiKeyAction): void {
  if (!scopeAllows(req, collection, action))
    throw forbidden(`The API key's scope does not allow "${action}" on "${collection.name}".`);
}

/**
 * Who is asking and with what: the context every records-service call takes, so each access rule is
 * checked in one place whatever the entry point (REST, batch, realtime, hooks).
 */
export interface RecordRequest {
  readonly auth: RequestAuth | null;
  /** The submitted body (create/update); a plain object. */
  readonly body?: Record<string, unknown>;
  /** Query parameters (first value of each). */
  readonly query?: Record<string, string>;
  /** Request headers as received (lower-case names). */
  readonly headers?: Record<string, string | string[] | undefined>;
  readonly method?: string;
  /** `default`, `batch`, `expand`, `realtime`, … (`@request.context`). */
  readonly context?: string;
  /** Set by code acting as the system (hooks, jobs): every rule is bypassed, as for a superuser. */
  readonly system?: boolean;
}

/** True when the caller is a superuser (who bypasses every rule). */
export function isSuperuserRequest(req: RecordRequest): boolean {
  return req.system === true || req.auth?.isSuperuser === true;
}

function snakeHeaders(headers: RecordRequest["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase().replaceAll("-", "_")] = Array.isArray(v) ? v.join(",") : v;
  }
  return out;
}

/** The `@request.*` view of a request for the rule compiler; `body` replaces the submitted body when given. */
export function toRequestInfo(
  req: RecordRequest,
  body?: Record<string, unknown>,
  context?: string,
): RequestInfo {
  const a = req.auth;
  return {
    auth: a
      ? {
          ...a.record,
          id: String(a.record.id),
          collectionId: a.collection.id,
          collectionName: a.collection.name,
        }
      : null,
    body: body ?? req.body ?? {},
    query: req.query ?? {},
    headers: snakeHeaders(req.headers),
    method: (req.method ?? "GET").toUpperCase(),
    context: context ?? req.context ?? "default",
  };
}

const schemas = new WeakMap<CollectionsService, RuleSchema>();

/** The collections as the rule compiler looks them up (by id or name). */
export function ruleSchema(collections: CollectionsService): RuleSchema {
  let s = schemas.get(collections);
  if (!s) {
    s = { get: (nameOrId) => collections.find(nameOrId) as RuleCollection | undefined };
    schemas.set(collections, s);
  }
  return s;
}
