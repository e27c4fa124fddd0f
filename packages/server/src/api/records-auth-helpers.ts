import type { FastifyRequest } from "fastify";
import type { AuthCaller } from "../auth/flows/index.js";
import type { App } from "../core/app.js";
import type { RecordRequest } from "../core/records/index.js";
import { bodyObject } from "./guards.js";
import { clientIp } from "./rate-limit.js";
import { flatQuery } from "./records-action.js";

export { authCollectionOr404 } from "../auth/flows/index.js";

/** The records-service view of an HTTP request (auth, headers, query), in a rule context. */
export function recordRequestOf(
  request: FastifyRequest,
  context = "default",
  body?: Record<string, unknown>,
): RecordRequest {
  return {
    auth: request.auth,
    headers: request.headers,
    method: request.method,
    query: flatQuery(request.query),
    context,
    ...(body ? { body } : {}),
  };
}

/** The MFA id a sign-in request carries (query or body). */
export function mfaIdOf(request: FastifyRequest): string {
  const q = request.query as Record<string, unknown> | undefined;
  const fromQuery = q && typeof q.mfaId === "string" ? q.mfaId : "";
  if (fromQuery) return fromQuery;
  const fromBody = bodyObject(request).mfaId;
  return typeof fromBody === "string" ? fromBody : "";
}

/** The caller of an auth flow from an HTTP request: its auth and rule context, MFA id, `expand`, address. */
export function authCallerOf(app: App, request: FastifyRequest, opts: { mfa?: boolean } = {}): AuthCaller {
  const query = request.query as Record<string, unknown> | undefined;
  return {
    request: recordRequestOf(request),
    mfaId: opts.mfa === false ? "" : mfaIdOf(request),
    ip: clientIp(app, request),
    expand: typeof query?.expand === "string" ? query.expand : undefined,
  };
}
