import type { FastifyInstance, FastifyRequest } from "fastify";
import type { App } from "../core/app.js";
import { clientIp } from "./rate-limit.js";

/**
 * `GET /api/health` (and `HEAD`): always public, `{code: 200, message: "API is healthy.", data: {}}` as in
 * PocketBase. Superusers also see PocketBase's diagnostics (`canBackup`, `realIP`, `possibleProxyHeader`)
 * and the state of each backing service: `database`, `redis` (when configured), `storage`, `queue`, plus
 * the request logs' buffer.
 */
export function registerHealth(server: FastifyInstance, app: App): void {
  const handler = async (request: FastifyRequest) => {
    await app.db.ping();
    const data: Record<string, unknown> = {};
    if (request.auth?.isSuperuser) {
      // false while a backup or restore runs (PocketBase's meaning: another one would be refused now)
      data.canBackup = app.backups.busy === null;
      data.possibleProxyHeader = request.headers["x-forwarded-for"] ? "X-Forwarded-For" : "";
      // the address superuserIPs and the rate limits see (trusted-proxy settings applied)
      data.realIP = clientIp(app, request);
      Object.assign(data, await app.health());
      data.logs = { buffered: app.logs.buffered, dropped: app.logs.dropped, written: app.logs.written };
    }
    return { message: "API is healthy.", code: 200, data };
  };
  server.get("/api/health", handler);
}
