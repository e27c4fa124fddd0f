import type { FastifyInstance } from "fastify";
import { confirmVerification, requestVerification } from "../auth/flows/index.js";
import type { App } from "../core/app.js";
import { bodyObject } from "./guards.js";
import { authCollectionOr404 } from "./records-auth-helpers.js";

type Params = { Params: { collection: string } };

/**
 * `POST …/request-verification` (always 204, no account enumeration) and `POST …/confirm-verification`: the
 * e-mail verification flows.
 */
export function registerAuthVerification(server: FastifyInstance, app: App): void {
  server.post<Params>("/api/collections/:collection/request-verification", async (request, reply) => {
    const collection = authCollectionOr404(app, request.params.collection);
    await requestVerification(app, collection, bodyObject(request).email);
    return reply.status(204).send();
  });

  server.post<Params>("/api/collections/:collection/confirm-verification", async (request, reply) => {
    const collection = authCollectionOr404(app, request.params.collection);
    await confirmVerification(app, collection, bodyObject(request).token);
    return reply.status(204).send();
  });
}
