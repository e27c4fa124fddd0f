import {
  GraphQLBoolean,
  GraphQLError,
  type GraphQLFieldConfig,
  type GraphQLFieldConfigMap,
  GraphQLID,
  type GraphQLInputObjectType,
  GraphQLInt,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLString,
} from "graphql";
import { type AuthCollection, type Collection, isAuthCollection } from "../core/collections/index.js";
import { bindFilterParams } from "./filter-params.js";
import type { CollectionNames } from "./names.js";
import { JsonScalar } from "./scalars.js";
import type { AuthAnswer, Rec, Scope } from "./scope.js";

/** PocketBase's default page size. */
export const DEFAULT_PER_PAGE = 30;

/** A record change as a subscription delivers it: the action and the record JSON the subscriber may see. */
export interface RecordChange {
  readonly action: string;
  readonly record: Record<string, unknown>;
}

/** The context every resolver of one operation gets. */
export interface OperationContext {
  readonly scope: Scope;
  /** The largest page a list query returns (larger `perPage` values are clamped). */
  readonly maxPerPage: number;
  /**
   * Opens a stream of the collection's record changes for this caller (one record with `recordId`), checked
   * per event like `/api/realtime`; absent where subscriptions cannot run (plain HTTP POST).
   */
  readonly subscribe?: (
    collection: Collection,
    recordId: string,
    filter: string,
  ) => AsyncIterable<RecordChange>;
}

/** The arguments of a list query. */
interface ListArgs {
  filter?: string | null;
  params?: unknown;
  sort?: string | null;
  page?: number | null;
  perPage?: number | null;
  skipTotal?: boolean | null;
  search?: string | null;
}

/** The page and page size a list query asks for, clamped as REST clamps them (to `max` per page). */
export function pageOf(args: { page?: number | null; perPage?: number | null }, max: number) {
  const perPage =
    !args.perPage || args.perPage < 1 ? Math.min(DEFAULT_PER_PAGE, max) : Math.min(args.perPage, max);
  const last = Math.floor(Number.MAX_SAFE_INTEGER / perPage);
  const page = !args.page || args.page < 1 ? 1 : Math.min(args.page, last);
  return { page, perPage };
}

/**
 * `list<Name>(filter, params, sort, page, perPage, skipTotal[, search])`: one page, as `GET …/records`
 * answers it (`search` only on collections with full-text search on, issue 18).
 */
export function listField(
  c: Collection,
  page: GraphQLObjectType,
): GraphQLFieldConfig<unknown, OperationContext> {
  return {
    type: new GraphQLNonNull(page),
    description: `A page of "${c.name}" records the list rule lets the caller see.`,
    args: {
      filter: {
        type: GraphQLString,
        description: "PocketBase filter; `{:name}` placeholders take `params`.",
      },
      params: { type: JsonScalar, description: "Values for the filter's `{:name}` placeholders." },
      sort: { type: GraphQLString, description: "e.g. `-created,title`." },
      page: { type: GraphQLInt },
      perPage: { type: GraphQLInt },
      skipTotal: { type: GraphQLBoolean },
      ...(c.search
        ? {
            search: {
              type: GraphQLString,
              description: `Full-text search over ${c.search.fields.join(", ")}, ranked by relevance unless \`sort\` is given.`,
            },
          }
        : {}),
    },
    extensions: { basaltCost: "page" },
    resolve: async (_src, args: ListArgs, ctx) => {
      const { scope } = ctx;
      await scope.hooks?.rateLimit(c, "list");
      const filter = bindFilterParams(args.filter ?? "", args.params);
      const { page: p, perPage } = pageOf(args, ctx.maxPerPage);
      const sort = args.sort ?? "";
      const skipTotal = args.skipTotal === true;
      const search = args.search ?? "";
      const query: Record<string, string> = { page: String(p), perPage: String(perPage) };
      if (filter) query.filter = filter;
      if (search) query.search = search;
      if (sort) query.sort = sort;
      if (skipTotal) query.skipTotal = "true";
      const req = scope.request("GET", query);
      const result = await scope.records.list(c, req, { page: p, perPage, filter, sort, skipTotal, search });
      const items = await scope.recs(c, result.items, req);
      await scope.hooks?.afterList(c, filter !== "" || search !== "", items.length);
      return { ...result, items };
    },
  };
}

/** `view<Name>(id)`: one record, as `GET …/records/{id}` answers it (a refusal is an error, the field null). */
export function viewField(
  c: Collection,
  record: GraphQLObjectType,
): GraphQLFieldConfig<unknown, OperationContext> {
  return {
    type: record,
    description: `One "${c.name}" record the view rule lets the caller see.`,
    args: { id: { type: new GraphQLNonNull(GraphQLID) } },
    resolve: async (_src, args: { id: string }, { scope }) => {
      await scope.hooks?.rateLimit(c, "view");
      const req = scope.request("GET");
      const row = await scope.records.view(c, args.id, req);
      return (await scope.recs(c, [row], req))[0];
    },
  };
}

/** A GraphQL input object as the plain body REST would have received. */
function bodyOf(data: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((data ?? {}) as Record<string, unknown>)) {
    if (v === undefined) continue;
    out[k] = v !== null && typeof v === "object" && !Array.isArray(v) ? { ...v } : v;
  }
  return out;
}

/** Turns a sign-in route's answer into the mutation's result, or its refusal (MFA's 401 `mfaId` included). */
function authResult(c: Collection, scope: Scope, answer: AuthAnswer) {
  if (answer.status !== 200 || !answer.auth) {
    const message =
      typeof answer.body.message === "string" ? answer.body.message : "Multi-factor authentication required.";
    throw new GraphQLError(message, {
      extensions: {
        code: "UNAUTHORIZED",
        status: answer.status,
        data: answer.body.data ?? {},
        ...answer.body,
      },
    });
  }
  const owner = scope.as(answer.auth);
  const record: Rec = { collection: c, json: answer.body.record as Record<string, unknown>, scope: owner };
  return { token: answer.body.token, record, meta: answer.body.meta ?? null };
}

/** create/update/delete (not for views), and password sign-in and refresh for auth collections. */
export function mutationFields(
  c: Collection,
  names: CollectionNames,
  record: GraphQLObjectType,
  inputs: { create: GraphQLInputObjectType | null; update: GraphQLInputObjectType | null },
): GraphQLFieldConfigMap<unknown, OperationContext> {
  const out: GraphQLFieldConfigMap<unknown, OperationContext> = {};
  if (inputs.create) {
    out[names.create] = {
      type: record,
      description: `Creates a "${c.name}" record (the create rule and PocketBase's validation apply).`,
      args: { data: { type: new GraphQLNonNull(inputs.create) } },
      resolve: async (_src, args: { data: unknown }, { scope }) => {
        await scope.hooks?.rateLimit(c, "create");
        const req = scope.request("POST", {}, bodyOf(args.data));
        const row = await scope.records.create(c, req);
        return (await scope.recs(c, [row], req))[0];
      },
    };
  }
  if (inputs.update) {
    out[names.update] = {
      type: record,
      description: `Updates a "${c.name}" record (the update rule and PocketBase's validation apply).`,
      args: {
        id: { type: new GraphQLNonNull(GraphQLID) },
        data: { type: new GraphQLNonNull(inputs.update) },
      },
      resolve: async (_src, args: { id: string; data: unknown }, { scope }) => {
        await scope.hooks?.rateLimit(c, "update");
        const req = scope.request("PATCH", {}, bodyOf(args.data));
        const row = await scope.records.update(c, args.id, req);
        return (await scope.recs(c, [row], req))[0];
      },
    };
    out[names.delete] = {
      type: GraphQLBoolean,
      description: `Deletes a "${c.name}" record and its cascades (the delete rule applies).`,
      args: { id: { type: new GraphQLNonNull(GraphQLID) } },
      resolve: async (_src, args: { id: string }, { scope }) => {
        await scope.hooks?.rateLimit(c, "delete");
        await scope.records.delete(c, args.id, scope.request("DELETE"));
        return true;
      },
    };
  }
  if (isAuthCollection(c)) Object.assign(out, authFields(c, names, record));
  return out;
}

function authFields(
  c: AuthCollection,
  names: CollectionNames,
  record: GraphQLObjectType,
): GraphQLFieldConfigMap<unknown, OperationContext> {
  const auth = new GraphQLObjectType({
    name: names.auth,
    fields: {
      token: { type: new GraphQLNonNull(GraphQLString) },
      record: { type: new GraphQLNonNull(record) },
      meta: { type: JsonScalar },
    },
  });
  return {
    [names.authWithPassword]: {
      type: auth,
      description: `Signs in to "${c.name}" with an identity and password; the same token as REST.`,
      args: {
        identity: { type: new GraphQLNonNull(GraphQLString) },
        password: { type: new GraphQLNonNull(GraphQLString) },
        identityField: { type: GraphQLString },
        mfaId: { type: GraphQLString, description: "The id a first factor's refusal carried (MFA)." },
      },
      resolve: async (_src, args: Record<string, string | undefined>, { scope }) => {
        if (!scope.hooks) throw new GraphQLError("Sign-in is not available here.");
        const answer = await scope.hooks.authWithPassword(c, {
          identity: args.identity ?? "",
          password: args.password ?? "",
          identityField: args.identityField ?? undefined,
          mfaId: args.mfaId ?? undefined,
        });
        return authResult(c, scope, answer);
      },
    },
    [names.authRefresh]: {
      type: auth,
      description: `A new token for the signed-in "${c.name}" record (the auth rule is checked again).`,
      resolve: async (_src, _args, { scope }) => {
        if (!scope.hooks) throw new GraphQLError("Refresh is not available here.");
        return authResult(c, scope, await scope.hooks.authRefresh(c));
      },
    },
  };
}

/** `watch<Name>(id, filter, params)`: the collection's (or one record's) changes the caller may see. */
export function subscriptionField(
  c: Collection,
  event: GraphQLObjectType,
): GraphQLFieldConfig<unknown, OperationContext> {
  return {
    type: event,
    description: `Changes of "${c.name}" records, checked per event like /api/realtime (list rule, or the view rule with \`id\`).`,
    args: {
      id: { type: GraphQLID, description: "Only this record's changes." },
      filter: { type: GraphQLString },
      params: { type: JsonScalar },
    },
    subscribe: (_src, args: { id?: string | null; filter?: string | null; params?: unknown }, ctx) => {
      if (!ctx.subscribe)
        throw new GraphQLError("Subscriptions run over /api/graphql/stream (GraphQL over SSE).");
      const filter = bindFilterParams(args.filter ?? "", args.params);
      return ctx.subscribe(c, args.id || "*", filter);
    },
    resolve: (source, _args, ctx) => {
      const change = source as RecordChange;
      // each event gets its own batch scope: relations are loaded as they are now
      const scope = ctx.scope.fresh();
      return { action: change.action, record: { collection: c, json: change.record, scope } };
    },
  };
}
