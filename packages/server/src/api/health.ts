import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";

/** `GET /api/health`: always public; superusers also see a few diagnostics, as in PocketBase. */
export function registerHealth(server: FastifyInstance, app: App): void {
  const handler = async (request: import("fastify").FastifyRequest) => {
    await app.db.ping();
    const data: Record<string, unknown> = {};
    if (request.auth?.isSuperuser) {
      data.canBackup = true;
      data.possibleProxyHeader = request.headers["x-forwarded-for"] ? "X-Forwarded-For" : "";
      data.realIP = request.ip;
    }
    return { message: "API is healthy.", code: 200, data };
  };
  server.get("/api/health", handler);
}
