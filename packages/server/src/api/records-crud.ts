import { randomInt } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { App } from "../core/app.js";
import type { Collection } from "../core/collections/index.js";
import { clientIp } from "./rate-limit.js";
import { type ActionCaller, flatQuery, type RecordAction, runRecordAction } from "./records-action.js";

type Params = { collection: string; id?: string };

/**
 * PocketBase's guard against timing a list rule through client filters: once a client has had more than a
 * few empty filtered results from a collection with a list rule, each further empty answer waits a random
 * time below 500 ms. Superusers, unfiltered and non-empty lists are never delayed (REST and GraphQL lists).
 */
export async function throttleEmptyList(
  app: App,
  request: FastifyRequest,
  collection: Collection | undefined,
  filtered: boolean,
  count: number,
): Promise<void> {
  if (request.auth?.isSuperuser || count > 0 || !filtered || !collection?.listRule) return;
  if ((await app.limiter.consume("emptySearch", `${collection.id}:${clientIp(app, request)}`)) > 0) {
    await sleep(randomInt(0, 500));
  }
}

async function throttleEmptySearch(app: App, request: FastifyRequest<{ Params: Params }>, body: unknown) {
  const items = (body as { items?: unknown[] } | null)?.items;
  if (!items) return;
  const collection = app.collections.find(request.params.collection);
  const query = flatQuery(request.query);
  // a search probes the list rule as a filter does
  await throttleEmptyList(app, request, collection, !!(query.filter || query.search), items.length);
}

/** The caller of a plain (non-batch) records request. */
export function callerOf(request: FastifyRequest, context = "default"): ActionCaller {
  return {
    auth: request.auth,
    headers: request.headers,
    method: request.method,
    context,
    url: request.url,
    ip: request.ip,
  };
}

/**
 * The records CRUD routes under `/api/collections/{collection}/records[/{id}]`: list, view, create, update
 * and delete, each through the records service (so each rule is checked in one place).
 */
export function registerRecordsCrud(server: FastifyInstance, app: App): void {
  const handle =
    (kind: RecordAction["kind"]) =>
    async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
      const result = await runRecordAction(
        app,
        app.records,
        {
          kind,
          collection: request.params.collection,
          id: request.params.id,
          query: flatQuery(request.query),
          body: request.body,
        },
        callerOf(request),
      );
      if (kind === "list" && result.status === 200) await throttleEmptySearch(app, request, result.body);
      if (result.status === 204) return reply.status(204).send();
      return reply.status(result.status).send(result.body);
    };
  const base = "/api/collections/:collection/records";
  server.get<{ Params: Params }>(base, handle("list"));
  server.get<{ Params: Params }>(`${base}/:id`, handle("view"));
  server.post<{ Params: Params }>(base, handle("create"));
  server.patch<{ Params: Params }>(`${base}/:id`, handle("update"));
  server.delete<{ Params: Params }>(`${base}/:id`, handle("delete"));
}
