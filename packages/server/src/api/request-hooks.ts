import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from "fastify";
import type { App } from "../core/app.js";
import type { HookRequestInfo, RequestEvent, RequestHookName } from "../core/events.js";
import { isPlainObject } from "../util/index.js";
import { clientIp } from "./rate-limit.js";

const C = "/api/collections/:collection";

/** The routes whose handling runs inside a request hook (records CRUD runs its own, see records-action). */
const ROUTE_HOOKS: Record<string, RequestHookName> = {
  [`POST ${C}/auth-with-password`]: "onRecordAuthWithPasswordRequest",
  [`POST ${C}/auth-with-otp`]: "onRecordAuthWithOTPRequest",
  [`POST ${C}/request-otp`]: "onRecordRequestOTPRequest",
  [`POST ${C}/auth-with-oauth2`]: "onRecordAuthWithOAuth2Request",
  [`POST ${C}/auth-refresh`]: "onRecordAuthRefreshRequest",
  [`POST ${C}/request-verification`]: "onRecordRequestVerificationRequest",
  [`POST ${C}/confirm-verification`]: "onRecordConfirmVerificationRequest",
  [`POST ${C}/request-password-reset`]: "onRecordRequestPasswordResetRequest",
  [`POST ${C}/confirm-password-reset`]: "onRecordConfirmPasswordResetRequest",
  [`POST ${C}/request-email-change`]: "onRecordRequestEmailChangeRequest",
  [`POST ${C}/confirm-email-change`]: "onRecordConfirmEmailChangeRequest",
  "GET /api/realtime": "onRealtimeConnectRequest",
  "POST /api/realtime": "onRealtimeSubscribeRequest",
  "GET /api/collections": "onCollectionsListRequest",
  [`GET ${C}`]: "onCollectionViewRequest",
  "POST /api/collections": "onCollectionCreateRequest",
  [`PATCH ${C}`]: "onCollectionUpdateRequest",
  [`DELETE ${C}`]: "onCollectionDeleteRequest",
  "GET /api/settings": "onSettingsListRequest",
  "PATCH /api/settings": "onSettingsUpdateRequest",
  "POST /api/batch": "onBatchRequest",
};

/** The first value of each query parameter. */
function firstValues(query: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isPlainObject(query)) return out;
  for (const [k, v] of Object.entries(query)) {
    const first = Array.isArray(v) ? v[0] : v;
    if (typeof first === "string") out[k] = first;
  }
  return out;
}

/** What hooks see of a Fastify request. */
export function hookRequestInfo(app: App, request: FastifyRequest): HookRequestInfo {
  return {
    method: request.method,
    url: request.url,
    headers: request.headers,
    query: firstValues(request.query),
    params: (request.params ?? {}) as Record<string, string>,
    auth: request.auth,
    ip: clientIp(app, request),
  };
}

/**
 * Wraps the handlers of the routes above in their request hook, as they are registered: handlers run
 * before the route's work (they may change `e.body`, throw an ApiError to refuse, or answer themselves by
 * setting `e.response` and not calling `e.next()`) and after it (reading `e.response`). Must be registered
 * before the routes.
 */
export function registerRequestHooks(server: FastifyInstance, app: App): void {
  server.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const name = methods.map((m) => ROUTE_HOOKS[`${m} ${route.url}`]).find(Boolean);
    if (!name) return;
    const original = route.handler as RouteHandlerMethod;
    route.handler = async function hooked(
      this: FastifyInstance,
      request: FastifyRequest,
      reply: FastifyReply,
    ) {
      const hook = app.hooks[name];
      const params = request.params as { collection?: string } | undefined;
      const collection = params?.collection ? app.collections.find(params.collection) : undefined;
      if (!hook.hasFor(collection)) return original.call(this, request, reply);
      const e = {
        request: hookRequestInfo(app, request),
        ...(collection ? { collection } : {}),
        body: isPlainObject(request.body) ? request.body : {},
      } as Omit<RequestEvent, "next">;
      let ran = false;
      let out: unknown;
      await hook.trigger(e, async () => {
        ran = true;
        if (isPlainObject(request.body) || request.body === undefined || request.body === null) {
          request.body = e.body;
        }
        out = await original.call(this, request, reply);
        if (out !== reply && out !== undefined) e.response = { status: reply.statusCode, body: out };
      });
      if (reply.sent || out === reply) return reply;
      if (ran && out === undefined) return out;
      if (e.response) return reply.status(e.response.status).send(e.response.body);
      return reply.status(204).send();
    };
  });
}
