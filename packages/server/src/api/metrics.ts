import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { App } from "../core/app.js";
import { unauthorized } from "../errors/index.js";

function tokenMatches(request: FastifyRequest, token: string): boolean {
  const header = request.headers.authorization ?? "";
  const m = /^bearer\s+(.+)$/i.exec(header.trim());
  if (!m) return false;
  const given = Buffer.from(m[1]);
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/**
 * `GET /api/metrics`: Prometheus' text exposition, served only when metrics are on. With a metrics token it
 * needs `Authorization: Bearer <token>` (or a superuser's token); scrapes are not stored in the request logs.
 */
export function registerMetrics(server: FastifyInstance, app: App): void {
  const metrics = app.metrics;
  if (!metrics) return;
  const token = app.config.metricsToken;
  server.get("/api/metrics", { config: { skipSuccessLog: true } }, async (request, reply) => {
    if (token && !request.auth?.isSuperuser && !tokenMatches(request, token)) {
      throw unauthorized("The metrics need their bearer token.");
    }
    const text = await metrics.scrape();
    return reply.header("content-type", metrics.contentType).header("cache-control", "no-store").send(text);
  });
}
