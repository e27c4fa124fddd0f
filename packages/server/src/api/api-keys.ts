import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";
import { notFound } from "../errors/index.js";
import { bodyObject, requireSuperuser } from "./guards.js";

type WithId = { Params: { id: string } };

/**
 * API keys (superusers, issue 18): `GET/POST /api/keys`, `GET/DELETE /api/keys/{id}` and
 * `POST /api/keys/{id}/revoke`. The secret (`key`) is in the create answer only. A request made with a key
 * is never a superuser's, so keys cannot manage keys.
 */
export function registerApiKeys(server: FastifyInstance, app: App): void {
  server.get("/api/keys", async (request) => {
    requireSuperuser(request);
    return app.apiKeys.list();
  });

  server.post("/api/keys", async (request) => {
    requireSuperuser(request);
    return app.apiKeys.create(bodyObject(request));
  });

  server.get<WithId>("/api/keys/:id", async (request) => {
    requireSuperuser(request);
    const key = await app.apiKeys.get(request.params.id);
    if (!key) throw notFound();
    return key;
  });

  server.post<WithId>("/api/keys/:id/revoke", async (request) => {
    requireSuperuser(request);
    if (!(await app.apiKeys.revoke(request.params.id))) throw notFound();
    return app.apiKeys.get(request.params.id);
  });

  server.delete<WithId>("/api/keys/:id", async (request, reply) => {
    requireSuperuser(request);
    if (!(await app.apiKeys.delete(request.params.id))) throw notFound();
    return reply.code(204).send();
  });
}
