import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";
import { notFound } from "../errors/index.js";
import { requireSuperuser } from "./guards.js";

/**
 * PocketBase's cron routes (superusers): `GET /api/crons` lists `[{id, expression}]` by id, and
 * `POST /api/crons/{id}` runs a job now in the background and answers 204.
 */
export function registerCrons(server: FastifyInstance, app: App): void {
  server.get("/api/crons", async (request) => {
    requireSuperuser(request);
    return app.cron.list();
  });

  server.post<{ Params: { id: string } }>("/api/crons/:id", async (request, reply) => {
    requireSuperuser(request);
    const id = request.params.id;
    if (!app.cron.has(id)) throw notFound("Missing or invalid cron job");
    app.cron.run(id).catch((err: unknown) => app.log.error({ err, cron: id }, "cron job failed"));
    return reply.code(204).send();
  });
}
