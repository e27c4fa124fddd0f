import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";
import { badRequest, forbidden, notFound } from "../errors/index.js";
import { UploadedFile } from "../files/index.js";
import { bodyObject, requireSuperuser } from "./guards.js";
import { superuserRequestAllowed } from "./superuser-ips.js";

/**
 * PocketBase's backups API (superusers only): `GET /api/backups` lists `{key, size, modified}`,
 * `POST /api/backups` makes one (`{name?}`), `POST /api/backups/upload` stores an uploaded archive (multipart
 * `file`), `GET /api/backups/{key}?token=` downloads with a superuser FILE token, `DELETE /api/backups/{key}`,
 * and `POST /api/backups/{key}/restore` answers 204 and then restarts Basalt onto the restored data.
 */
export function registerBackups(server: FastifyInstance, app: App): void {
  server.get("/api/backups", async (request) => {
    requireSuperuser(request);
    return app.backups.list();
  });
  server.post("/api/backups", async (request, reply) => {
    requireSuperuser(request);
    const name = bodyObject(request).name ?? "";
    if (typeof name !== "string") throw badRequest("An error occurred while loading the submitted data.");
    await app.backups.create(name);
    return reply.status(204).send();
  });
  server.post("/api/backups/upload", async (request, reply) => {
    requireSuperuser(request);
    const given = bodyObject(request).file;
    const file = Array.isArray(given) ? given[0] : given;
    if (!(file instanceof UploadedFile))
      throw badRequest("An error occurred while validating the submitted data.", {
        file: { code: "validation_required", message: "Cannot be blank." },
      });
    await app.backups.upload({
      originalName: file.originalName,
      size: file.size,
      open: () => file.open(),
      path: file.path,
    });
    return reply.status(204).send();
  });
  server.get<{ Params: { key: string }; Querystring: { token?: unknown } }>(
    "/api/backups/:key",
    async (request, reply) => {
      const token = typeof request.query.token === "string" ? request.query.token : "";
      const auth = token ? await app.auth.verify(token, "file") : null;
      if (!auth?.isSuperuser || !superuserRequestAllowed(app, request))
        throw forbidden("Insufficient permissions to access the resource.");
      const opened = await app.backups.open(request.params.key);
      if (!opened) throw notFound();
      reply.raw.on("close", () => void opened.close());
      return reply
        .header("content-type", "application/zip")
        .header("content-length", opened.file.info.size)
        .header("content-disposition", `attachment; filename="${request.params.key}"`)
        .header("cache-control", "no-store")
        .send(opened.file.stream);
    },
  );
  server.delete<{ Params: { key: string } }>("/api/backups/:key", async (request, reply) => {
    requireSuperuser(request);
    await app.backups.delete(request.params.key);
    return reply.status(204).send();
  });
  server.post<{ Params: { key: string } }>("/api/backups/:key/restore", async (request, reply) => {
    requireSuperuser(request);
    // the restart waits until this answer has left (restartWith is called once the response is done)
    await app.backups.restore(request.params.key);
    return reply.status(204).send();
  });
}
