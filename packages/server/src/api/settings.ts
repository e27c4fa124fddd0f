import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";
import { requireSuperuser } from "./guards.js";

/** `GET/PATCH /api/settings` (superusers): the application settings in PocketBase's shape. */
export function registerSettings(server: FastifyInstance, app: App): void {
  server.get("/api/settings", async (request) => {
    requireSuperuser(request);
    return app.settings.publicView();
  });
  server.patch("/api/settings", async (request) => {
    requireSuperuser(request);
    return app.settings.update(request.body ?? {});
  });
}
