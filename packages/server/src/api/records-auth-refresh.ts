import type { FastifyInstance } from "fastify";
import type { RequestAuth } from "../auth/index.js";
import type { App } from "../core/app.js";
import type { AuthCollection } from "../core/collections/index.js";
import { forbidden, unauthorized } from "../errors/index.js";
import type { AuthAnswer } from "../graphql/index.js";
import { clientIp } from "./rate-limit.js";
import { authCollectionOr404, recordRequestOf } from "./records-auth-helpers.js";
import { type AuthCaller, authAnswer } from "./records-auth-response.js";

/**
 * A new token for the caller, with its record re-read and the auth rule re-checked; a non-refreshable
 * (impersonation) token gets itself back. REST and GraphQL refresh through it.
 */
export async function refreshAnswer(
  app: App,
  caller: AuthCaller,
  collection: AuthCollection,
  authorization: string | undefined,
): Promise<AuthAnswer> {
  const auth: RequestAuth | null = caller.request.auth;
  if (!auth) throw unauthorized("The request requires valid record authorization token.");
  if (auth.collection.id !== collection.id) {
    throw forbidden(`The request requires auth record from ${auth.collection.name} collection.`);
  }
  const raw = String(authorization ?? "")
    .replace(/^bearer\s+/i, "")
    .trim();
  const token = auth.claims.refreshable === false ? raw : undefined;
  return authAnswer(app, caller, auth.collection, auth.record, { method: "", token });
}

/** `POST /api/collections/{c}/auth-refresh`: {@link refreshAnswer}. */
export function registerAuthRefresh(server: FastifyInstance, app: App): void {
  server.post<{ Params: { collection: string } }>(
    "/api/collections/:collection/auth-refresh",
    async (request, reply) => {
      if (!request.auth) throw unauthorized("The request requires valid record authorization token.");
      const collection = authCollectionOr404(app, request.params.collection);
      const query = request.query as Record<string, unknown> | undefined;
      const answer = await refreshAnswer(
        app,
        {
          request: recordRequestOf(request),
          mfaId: "",
          ip: clientIp(app, request),
          expand: typeof query?.expand === "string" ? query.expand : undefined,
        },
        collection,
        request.headers.authorization,
      );
      return reply.status(answer.status).send(answer.body);
    },
  );
}
