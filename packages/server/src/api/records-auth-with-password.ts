import type { FastifyInstance } from "fastify";
import { signInWithPassword } from "../auth/flows/index.js";
import type { App } from "../core/app.js";
import { forbidden } from "../errors/index.js";
import { bodyObject } from "./guards.js";
import { authCallerOf, authCollectionOr404 } from "./records-auth-helpers.js";

/**
 * `POST /api/collections/{c}/auth-with-password`: the password sign-in flow. Limited only by the settings'
 * rate-limit rules (`*:auth`, …).
 */
export function registerAuthWithPassword(server: FastifyInstance, app: App): void {
  server.post<{ Params: { collection: string } }>(
    "/api/collections/:collection/auth-with-password",
    async (request, reply) => {
      const collection = authCollectionOr404(app, request.params.collection);
      // refused before the body is looked at, as PocketBase does
      if (!collection.passwordAuth.enabled) {
        throw forbidden("The collection is not configured to allow password authentication.");
      }
      const answer = await signInWithPassword(
        app,
        authCallerOf(app, request),
        collection,
        bodyObject(request),
      );
      return reply.status(answer.status).send(answer.body);
    },
  );
}
