import type { FastifyInstance } from "fastify";
import { confirmEmailChange, requestEmailChange } from "../auth/flows/index.js";
import type { App } from "../core/app.js";
import { unauthorized } from "../errors/index.js";
import { bodyObject } from "./guards.js";
import { authCollectionOr404 } from "./records-auth-helpers.js";

type Params = { Params: { collection: string } };

/**
 * `POST …/request-email-change` (the signed-in record asks; a token goes to the new address) and
 * `POST …/confirm-email-change` (token plus current password): the e-mail change flows.
 */
export function registerAuthEmailChange(server: FastifyInstance, app: App): void {
  server.post<Params>("/api/collections/:collection/request-email-change", async (request, reply) => {
    const auth = request.auth;
    if (!auth) throw unauthorized("The request requires valid record authorization token.");
    const collection = authCollectionOr404(app, request.params.collection);
    await requestEmailChange(app, collection, auth, bodyObject(request).newEmail);
    return reply.status(204).send();
  });

  server.post<Params>("/api/collections/:collection/confirm-email-change", async (request, reply) => {
    const collection = authCollectionOr404(app, request.params.collection);
    await confirmEmailChange(app, collection, bodyObject(request));
    return reply.status(204).send();
  });
}
