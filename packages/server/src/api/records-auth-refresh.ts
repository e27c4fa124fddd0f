import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";
import { forbidden } from "../errors/index.js";
import { requireAuth } from "./guards.js";
import { refreshResponse } from "./records-auth-response.js";
import { authCollectionOr404 } from "./records-auth-with-password.js";

/** `POST /api/collections/{c}/auth-refresh`: a new token for the caller (the same one if not refreshable). */
export function registerAuthRefresh(server: FastifyInstance, app: App): void {
  server.post<{ Params: { collection: string } }>(
    "/api/collections/:collection/auth-refresh",
    async (request) => {
      const collection = authCollectionOr404(app, request.params.collection);
      const auth = requireAuth(request);
      if (auth.collection.id !== collection.id) {
        throw forbidden("The request requires valid record authorization token from the same collection.");
      }
      await app.checkAuthRule(auth.collection, auth.record);
      const raw = String(request.headers.authorization ?? "")
        .replace(/^bearer\s+/i, "")
        .trim();
      const token =
        auth.claims.refreshable === false ? raw : app.auth.newToken(auth.collection, auth.record, "auth");
      return refreshResponse(app, auth, token);
    },
  );
}
