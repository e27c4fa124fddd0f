import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";
import { forbidden, unauthorized } from "../errors/index.js";
import { authCollectionOr404 } from "./records-auth-helpers.js";
import { sendAuthResponse } from "./records-auth-response.js";

/**
 * `POST /api/collections/{c}/auth-refresh`: a new token for the caller, with its record re-read and the
 * auth rule re-checked; a non-refreshable (impersonation) token gets itself back.
 */
export function registerAuthRefresh(server: FastifyInstance, app: App): void {
  server.post<{ Params: { collection: string } }>(
    "/api/collections/:collection/auth-refresh",
    async (request, reply) => {
      const auth = request.auth;
      if (!auth) throw unauthorized("The request requires valid record authorization token.");
      const collection = authCollectionOr404(app, request.params.collection);
      if (auth.collection.id !== collection.id) {
        throw forbidden(`The request requires auth record from ${auth.collection.name} collection.`);
      }
      const raw = String(request.headers.authorization ?? "")
        .replace(/^bearer\s+/i, "")
        .trim();
      const token = auth.claims.refreshable === false ? raw : undefined;
      return sendAuthResponse(app, request, reply, auth.collection, auth.record, { method: "", token });
    },
  );
}
