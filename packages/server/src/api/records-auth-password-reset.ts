import type { FastifyInstance } from "fastify";
import { confirmPasswordReset, requestPasswordReset } from "../auth/flows/index.js";
import type { App } from "../core/app.js";
import { bodyObject } from "./guards.js";
import { authCollectionOr404 } from "./records-auth-helpers.js";

type Params = { Params: { collection: string } };

/**
 * `POST …/request-password-reset` (always 204; a `passwordReset` token is mailed only when the account
 * exists) and `POST …/confirm-password-reset` (sets the new password, ending every session): the password
 * reset flows.
 */
export function registerAuthPasswordReset(server: FastifyInstance, app: App): void {
  server.post<Params>("/api/collections/:collection/request-password-reset", async (request, reply) => {
    const collection = authCollectionOr404(app, request.params.collection);
    await requestPasswordReset(app, collection, bodyObject(request).email);
    return reply.status(204).send();
  });

  server.post<Params>("/api/collections/:collection/confirm-password-reset", async (request, reply) => {
    const collection = authCollectionOr404(app, request.params.collection);
    await confirmPasswordReset(app, collection, bodyObject(request));
    return reply.status(204).send();
  });
}
