import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";
import { notFound } from "../errors/index.js";
import { requireSuperuser } from "./guards.js";
import { listResult, readListParams } from "./list-params.js";

/**
 * PocketBase's logs routes (superusers): `GET /api/logs` (filter/sort/paging over `id, created, level,
 * message, data.*`), `GET /api/logs/stats` (per-hour counts, same filter), `GET /api/logs/{id}`, and
 * `DELETE /api/logs` (PocketBase's newer truncate). Their successful answers are not logged themselves.
 */
export function registerLogs(server: FastifyInstance, app: App): void {
  const config = { skipSuccessLog: true };

  server.get("/api/logs", { config }, async (request) => {
    requireSuperuser(request);
    const params = readListParams(request.query);
    const page = await app.logs.store.list(params);
    return listResult(params, page.items, page.totalItems);
  });

  server.get<{ Querystring: { filter?: unknown } }>("/api/logs/stats", { config }, async (request) => {
    requireSuperuser(request);
    return app.logs.store.stats(readListParams(request.query).filter);
  });

  server.get<{ Params: { id: string } }>("/api/logs/:id", { config }, async (request) => {
    requireSuperuser(request);
    const row = await app.logs.store.one(request.params.id);
    if (!row) throw notFound();
    return row;
  });

  server.delete("/api/logs", { config }, async (request, reply) => {
    requireSuperuser(request);
    // entries still buffered belong to the logs being cleared
    await app.logs.flush();
    await app.logs.store.truncate();
    return reply.code(204).send();
  });
}
