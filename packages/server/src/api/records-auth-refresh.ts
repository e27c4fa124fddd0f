import type { FastifyInstance, FastifyRequest } from "fastify";
import { refreshAuth } from "../auth/flows/index.js";
import type { App } from "../core/app.js";
import { unauthorized } from "../errors/index.js";
import { authCallerOf, authCollectionOr404 } from "./records-auth-helpers.js";

/** The token an HTTP request authenticated with (`Authorization`, with or without `Bearer`). */
export function requestToken(request: FastifyRequest): string {
  return String(request.headers.authorization ?? "")
    .replace(/^bearer\s+/i, "")
    .trim();
}

/** `POST /api/collections/{c}/auth-refresh`: a new token for the caller (the refresh flow). */
export function registerAuthRefresh(server: FastifyInstance, app: App): void {
  server.post<{ Params: { collection: string } }>(
    "/api/collections/:collection/auth-refresh",
    async (request, reply) => {
      if (!request.auth) throw unauthorized("The request requires valid record authorization token.");
      const collection = authCollectionOr404(app, request.params.collection);
      const caller = authCallerOf(app, request, { mfa: false });
      const answer = await refreshAuth(app, caller, collection, requestToken(request));
      return reply.status(answer.status).send(answer.body);
    },
  );
}
