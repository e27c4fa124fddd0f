import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";
import { notFound } from "../errors/index.js";
import type { Webhook } from "../webhooks/index.js";
import { bodyObject, requireSuperuser } from "./guards.js";
import { readListParams } from "./list-params.js";

type WithId = { Params: { id: string } };

/** A webhook as listed, read or updated: the signing secret is shown only when made (issue 18). */
function withoutSecret(hook: Webhook): Omit<Webhook, "secret"> {
  const { secret: _secret, ...rest } = hook;
  return rest;
}

/**
 * Outbound webhooks (superusers): `GET/POST /api/webhooks`, `GET/PATCH/DELETE /api/webhooks/{id}`,
 * `POST /api/webhooks/{id}/secret` (a new signing secret, shown once), `GET /api/webhooks/{id}/deliveries` (newest first, paged) and `POST /api/webhooks/deliveries/{id}/replay`.
 */
export function registerWebhooks(server: FastifyInstance, app: App): void {
  server.get("/api/webhooks", async (request) => {
    requireSuperuser(request);
    return (await app.webhooks.list()).map(withoutSecret);
  });

  server.post("/api/webhooks", async (request) => {
    requireSuperuser(request);
    return app.webhooks.create(bodyObject(request));
  });

  server.get<WithId>("/api/webhooks/:id", async (request) => {
    requireSuperuser(request);
    const hook = await app.webhooks.get(request.params.id);
    if (!hook) throw notFound();
    return withoutSecret(hook);
  });

  server.patch<WithId>("/api/webhooks/:id", async (request) => {
    requireSuperuser(request);
    const hook = await app.webhooks.update(request.params.id, bodyObject(request));
    if (!hook) throw notFound();
    return withoutSecret(hook);
  });

  // the only answers holding the signing secret: the create above, and this rotation
  server.post<WithId>("/api/webhooks/:id/secret", async (request) => {
    requireSuperuser(request);
    const hook = await app.webhooks.rotateSecret(request.params.id);
    if (!hook) throw notFound();
    return hook;
  });

  server.delete<WithId>("/api/webhooks/:id", async (request, reply) => {
    requireSuperuser(request);
    if (!(await app.webhooks.delete(request.params.id))) throw notFound();
    return reply.code(204).send();
  });

  server.get<WithId>("/api/webhooks/:id/deliveries", async (request) => {
    requireSuperuser(request);
    if (!(await app.webhooks.get(request.params.id))) throw notFound();
    const { page, perPage } = readListParams(request.query);
    return app.webhooks.deliveries(request.params.id, page, perPage);
  });

  server.post<WithId>("/api/webhooks/deliveries/:id/replay", async (request, reply) => {
    requireSuperuser(request);
    if (!(await app.webhooks.replay(request.params.id))) throw notFound();
    return reply.code(204).send();
  });
}
