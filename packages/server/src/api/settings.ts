import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";
import { badRequest, fieldError } from "../errors/index.js";
import { S3Storage } from "../files/index.js";
import { randomString } from "../util/index.js";
import { requireSuperuser } from "./guards.js";

/**
 * `GET/PATCH /api/settings` (superusers): the application settings in PocketBase's shape; and
 * `POST /api/settings/test/s3`.
 */
export function registerSettings(server: FastifyInstance, app: App): void {
  server.get("/api/settings", async (request) => {
    requireSuperuser(request);
    return app.settings.publicView();
  });
  server.patch("/api/settings", async (request) => {
    requireSuperuser(request);
    return app.settings.update(request.body ?? {});
  });
  // PocketBase's S3 check: writes and deletes a small object with the saved `s3` settings
  server.post("/api/settings/test/s3", async (request, reply) => {
    requireSuperuser(request);
    const body = (request.body ?? {}) as { filesystem?: unknown };
    if (body.filesystem !== undefined && body.filesystem !== "storage" && body.filesystem !== "backups") {
      throw badRequest("An error occurred while validating the submitted data.", {
        filesystem: fieldError("validation_in_invalid", "Must be a valid value."),
      });
    }
    const s3 = app.settings.get().s3;
    if (!s3.enabled) throw badRequest("S3 storage filesystem is not enabled.");
    const storage = new S3Storage(s3);
    const key = `pb_settings_test_${randomString(10)}`;
    try {
      await storage.put(key, Readable.from([Buffer.from("test")]), { contentType: "text/plain" });
      await storage.delete(key);
    } catch (err) {
      throw badRequest(
        "Failed to initialize the S3 storage. Raw error: \n" +
          String((err as Error)?.message ?? err).slice(0, 500),
      );
    } finally {
      await storage.close();
    }
    return reply.status(204).send();
  });
}
