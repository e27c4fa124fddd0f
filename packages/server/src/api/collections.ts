import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";
import { collectionToJSON, scaffolds } from "../core/collections/index.js";
import { badRequest } from "../errors/index.js";
import { importCollections } from "./collections-import.js";
import { requireSuperuser } from "./guards.js";
import { listResult, readListParams } from "./list-params.js";

type Params = { collection: string };

/**
 * The collections API (superusers only): list, view, create, update, delete, truncate, import, scaffolds,
 * and Basalt's validate-only dry run.
 */
export function registerCollections(server: FastifyInstance, app: App): void {
  server.get("/api/collections", async (request) => {
    requireSuperuser(request);
    const params = readListParams(request.query);
    const page = await app.listCollections(params);
    return listResult(params, page.items.map(collectionToJSON), page.totalItems);
  });

  server.get("/api/collections/meta/scaffolds", async (request) => {
    requireSuperuser(request);
    const s = scaffolds();
    return { auth: collectionToJSON(s.auth), base: collectionToJSON(s.base), view: collectionToJSON(s.view) };
  });

  server.put("/api/collections/import", async (request, reply) => {
    requireSuperuser(request);
    await importCollections(app, request.body);
    return reply.status(204).send();
  });

  // Basalt's own: the checks of a create/update without applying it (the dashboard validates as you type).
  server.post("/api/basalt/collections/validate", async (request) => {
    requireSuperuser(request);
    return collectionToJSON(await app.collections.validate(undefined, request.body));
  });
  server.post<{ Params: Params }>("/api/basalt/collections/:collection/validate", async (request) => {
    requireSuperuser(request);
    return collectionToJSON(await app.collections.validate(request.params.collection, request.body ?? {}));
  });

  server.get<{ Params: Params }>("/api/collections/:collection", async (request) => {
    requireSuperuser(request);
    return collectionToJSON(app.collections.get(request.params.collection));
  });

  server.post("/api/collections", async (request) => {
    requireSuperuser(request);
    return collectionToJSON(await app.collections.create(request.body));
  });

  server.patch<{ Params: Params }>("/api/collections/:collection", async (request) => {
    requireSuperuser(request);
    return collectionToJSON(await app.collections.update(request.params.collection, request.body ?? {}));
  });

  server.delete<{ Params: Params }>("/api/collections/:collection", async (request, reply) => {
    requireSuperuser(request);
    await app.collections.delete(request.params.collection);
    return reply.status(204).send();
  });

  server.delete<{ Params: Params }>("/api/collections/:collection/truncate", async (request, reply) => {
    requireSuperuser(request);
    const c = app.collections.get(request.params.collection);
    if (c.type === "view") {
      throw badRequest("View collections cannot be truncated since they don't store their own records.");
    }
    await app.truncateCollection(c);
    return reply.status(204).send();
  });
}
