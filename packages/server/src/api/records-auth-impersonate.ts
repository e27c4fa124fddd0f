import type { FastifyInstance } from "fastify";
import { impersonate } from "../auth/flows/index.js";
import type { App } from "../core/app.js";
import { bodyObject, requireSuperuser } from "./guards.js";
import { authCallerOf, authCollectionOr404 } from "./records-auth-helpers.js";

/**
 * `POST /api/collections/{c}/impersonate/{id}` (superusers only): a static, non-refreshable auth token for
 * any record of an auth collection (the impersonation flow).
 */
export function registerAuthImpersonate(server: FastifyInstance, app: App): void {
  server.post<{ Params: { collection: string; id: string } }>(
    "/api/collections/:collection/impersonate/:id",
    async (request, reply) => {
      requireSuperuser(request);
      const collection = authCollectionOr404(app, request.params.collection);
      const duration = bodyObject(request).duration ?? 0;
      const answer = await impersonate(
        app,
        authCallerOf(app, request),
        collection,
        request.params.id,
        duration,
      );
      return reply.status(answer.status).send(answer.body);
    },
  );
}
