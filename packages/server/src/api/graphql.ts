import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ExecutionResult } from "graphql";
import { refreshAuth, signInWithPassword } from "../auth/flows/index.js";
import type { App } from "../core/app.js";
import type { RecordRequest } from "../core/records/index.js";
import { badRequest } from "../errors/index.js";
import {
  type GraphqlHooks,
  type GraphqlRequest,
  type OperationContext,
  type RecordsAction,
  recordChanges,
  Scope,
} from "../graphql/index.js";
import { isPlainObject, lazyImport } from "../util/index.js";
import { BATCH_ITEM_PATTERNS, checkRateLimit, clientIp } from "./rate-limit.js";
import { recordRequestOf } from "./records-auth-helpers.js";
import { requestToken } from "./records-auth-refresh.js";
import { throttleEmptyList } from "./records-crud.js";

// graphql-sse is loaded on the first subscription request, not at start-up (issue 19: memory)
const loadSse = lazyImport(
  "graphql-sse",
  "GraphQL subscriptions",
  () => import("graphql-sse/lib/use/fastify"),
);

const RECORDS = "/api/collections/:collection/records";
/** The REST route each GraphQL records action counts as, for the rate limits. */
const ROUTES: Record<RecordsAction, { method: string; pattern: string; item: boolean }> = {
  list: { method: "GET", pattern: `GET ${RECORDS}`, item: false },
  view: { method: "GET", pattern: `GET ${RECORDS}/:id`, item: true },
  create: { method: "POST", pattern: BATCH_ITEM_PATTERNS.create, item: false },
  update: { method: "PATCH", pattern: BATCH_ITEM_PATTERNS.update, item: true },
  delete: { method: "DELETE", pattern: BATCH_ITEM_PATTERNS.delete, item: true },
};

/** What GraphQL borrows from the REST routes for one HTTP request (rate limits, throttle, sign-in). */
function hooksFor(app: App, request: FastifyRequest, reply: FastifyReply): GraphqlHooks {
  const caller = () => ({ request: recordRequestOf(request), mfaId: "", ip: clientIp(app, request) });
  return {
    rateLimit: (collection, action) => {
      const r = ROUTES[action];
      const path = `/api/collections/${collection.name}/records${r.item ? "/-" : ""}`;
      return checkRateLimit(app, request, reply, {
        collection,
        tags: [action],
        pattern: r.pattern,
        method: r.method,
        path,
      });
    },
    afterList: (collection, filtered, count) => throttleEmptyList(app, request, collection, filtered, count),
    authWithPassword: async (collection, input) => {
      await checkRateLimit(app, request, reply, {
        collection,
        tags: ["authWithPassword", "auth"],
        pattern: "POST /api/collections/:collection/auth-with-password",
        method: "POST",
        path: `/api/collections/${collection.name}/auth-with-password`,
      });
      const { mfaId, ...body } = input;
      return signInWithPassword(app, { ...caller(), mfaId: mfaId ?? "" }, collection, body);
    },
    authRefresh: async (collection) => {
      await checkRateLimit(app, request, reply, {
        collection,
        tags: ["authRefresh"],
        pattern: "POST /api/collections/:collection/auth-refresh",
        method: "POST",
        path: `/api/collections/${collection.name}/auth-refresh`,
      });
      return refreshAuth(app, caller(), collection, requestToken(request));
    },
  };
}

/** The records-service request of a GraphQL caller (method and query are set per action). */
function baseRequest(request: FastifyRequest): RecordRequest {
  return { auth: request.auth, headers: request.headers, method: "GET", query: {}, context: "default" };
}

/** Reads `{query, variables, operationName}` from a POST body or a GET query string. */
function readRequest(source: unknown, fromQuery: boolean): GraphqlRequest {
  if (!isPlainObject(source)) throw badRequest("The request must carry a GraphQL query.");
  const { query, operationName } = source;
  let variables: unknown = source.variables;
  if (fromQuery && typeof variables === "string" && variables !== "") {
    try {
      variables = JSON.parse(variables);
    } catch {
      throw badRequest("The variables must be a JSON object.");
    }
  }
  if (variables === "" || variables === null) variables = undefined;
  if (variables !== undefined && !isPlainObject(variables))
    throw badRequest("The variables must be a JSON object.");
  if (operationName !== undefined && operationName !== null && typeof operationName !== "string") {
    throw badRequest("The operationName must be a string.");
  }
  return {
    query: typeof query === "string" ? query : "",
    variables: variables as Record<string, unknown> | undefined,
    operationName: operationName || undefined,
  };
}

/**
 * `/api/graphql` (POST; GET for queries) runs GraphQL operations over the records service with the caller's
 * auth; `/api/graphql/stream` runs subscriptions over GraphQL over SSE (the `graphql-sse` protocol), each
 * delivered through the realtime broker with its per-subscriber checks.
 */
export function registerGraphql(server: FastifyInstance, app: App): void {
  const run = async (request: FastifyRequest, reply: FastifyReply, req: GraphqlRequest, get: boolean) => {
    const graphql = await app.graphql();
    const prepared = graphql.prepare(req, {
      superuser: request.auth?.isSuperuser === true,
      kinds: get ? ["query"] : ["query", "mutation"],
    });
    if ("errors" in prepared) {
      if (prepared.status === 405) reply.header("allow", "POST");
      return reply
        .status(prepared.status)
        .send({ errors: prepared.errors.map((e) => graphql.formatError(e)) });
    }
    const context: OperationContext = {
      scope: new Scope(app.records, baseRequest(request), hooksFor(app, request, reply)),
      maxPerPage: graphql.limits.maxPerPage,
    };
    return reply.status(200).send(await graphql.execute(prepared, context));
  };
  server.post("/api/graphql", (request, reply) =>
    run(request, reply, readRequest(request.body, false), false),
  );
  server.get("/api/graphql", (request, reply) => run(request, reply, readRequest(request.query, true), true));

  const stream = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    request.raw.socket.setTimeout(0);
    try {
      if (!handler) {
        handler = streamHandler(app);
        // a failed load is not kept: the next request tries again
        handler.catch(() => {
          handler = undefined;
        });
      }
      await (await handler)(request, reply);
    } catch (err) {
      request.log.warn({ err }, "graphql stream failed");
      if (!reply.raw.headersSent) reply.raw.writeHead(500).end();
      else reply.raw.end();
    }
  };
  let handler: ReturnType<typeof streamHandler> | undefined;
  server.route({ method: ["GET", "POST", "PUT", "DELETE"], url: "/api/graphql/stream", handler: stream });
}

/** The GraphQL-over-SSE handler of `/api/graphql/stream` (made on the first request to it). */
async function streamHandler(app: App) {
  const [graphql, { createHandler }] = await Promise.all([app.graphql(), loadSse()]);
  return createHandler<Record<PropertyKey, unknown>>({
    schema: () => graphql.schema(),
    onSubscribe: (req, params) => {
      const request = req.raw as FastifyRequest;
      const prepared = graphql.prepare(
        {
          query: params.query,
          variables: params.variables ?? undefined,
          operationName: params.operationName ?? undefined,
        },
        { superuser: request.auth?.isSuperuser === true, kinds: ["subscription"] },
      );
      if ("errors" in prepared) {
        // answered like /api/graphql refuses: the status and the formatted errors, no stream
        const body = JSON.stringify({ errors: prepared.errors.map((e) => graphql.formatError(e)) });
        const headers = { "content-type": "application/json; charset=utf-8" };
        return [body, { status: prepared.status, statusText: "Bad Request", headers }];
      }
      const contextValue: OperationContext = {
        scope: new Scope(app.records, baseRequest(request), null),
        maxPerPage: graphql.limits.maxPerPage,
        subscribe: (collection, recordId, filter) =>
          recordChanges(app.realtime, request.ip, request.auth, collection, recordId, filter),
      };
      return {
        schema: prepared.schema,
        document: prepared.document,
        variableValues: prepared.variables,
        operationName: prepared.operationName,
        contextValue: contextValue as unknown as Record<PropertyKey, unknown>,
      };
    },
    onNext: (_ctx, _req, result) => graphql.format(result as ExecutionResult) as ExecutionResult,
    onOperation: async (_ctx, _req, _args, pending) => {
      const result = await pending;
      return Symbol.asyncIterator in result ? undefined : (graphql.format(result) as ExecutionResult);
    },
  });
}
