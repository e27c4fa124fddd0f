import { Transform } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { checkRateLimit, clientIp } from "../api/rate-limit.js";
import type { App } from "../core/app.js";
import { ApiError } from "../errors/index.js";
import { isPlainObject } from "../util/index.js";
import { toHookFailure } from "./hook-errors.js";
import type { HookHost } from "./hook-host.js";
import { type RouteEvent, type RouteMatch, routeEvent } from "./router.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The custom route that answers a request no built-in route does (set before the body is read). */
    customRoute?: RouteMatch | null;
    /** A custom route's body text as received (not for multipart bodies). */
    rawBody?: string | null;
  }
}

function firstValues(query: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isPlainObject(query)) return out;
  for (const [k, v] of Object.entries(query)) {
    const first = Array.isArray(v) ? v[0] : v;
    if (typeof first === "string") out[k] = first;
  }
  return out;
}

/** A stream that passes at most `limit` bytes and fails with PocketBase's 413 past it. */
function capped(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > limit) return done(new ApiError(413, "Request entity too large."));
      done(null, chunk);
    },
  });
}

/** A pass-through stream that keeps a copy of what went through and hands it over as text at the end. */
function recorded(keep: (text: string) => void): Transform {
  const chunks: Buffer[] = [];
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      done(null, chunk);
    },
    flush(done) {
      keep(Buffer.concat(chunks).toString("utf8"));
      done();
    },
  });
}

/**
 * Serves the custom routes of the hook files and the embedding program from the not-found path, so a
 * `--dev` reload can replace them while the server runs: built-in routes always win. The route is found
 * once the caller's auth is loaded; its rate-limit labels count against the settings' rules; its body limit
 * is enforced while the body streams in; then its middlewares and handler run. A handler's return value is
 * sent as JSON when it answered nothing itself; no answer at all is a 204.
 */
export function registerCustomRoutes(server: FastifyInstance, app: App, host: HookHost): void {
  server.decorateRequest("customRoute", null);
  server.addHook("onRequest", (request, reply, done) => {
    // no built-in route, or only the public folder's catch-all (which defers to custom routes)
    const url = request.routeOptions.url;
    if (url !== undefined && !url.endsWith("*")) return done();
    const match = host.match(request.method, request.url);
    request.customRoute = match;
    if (!match || !app.settings.rateLimits.enabled || request.method === "OPTIONS") return done();
    checkRateLimit(app, request, reply, { labels: match.route.rateLimitLabels }).then(() => done(), done);
  });
  server.decorateRequest("rawBody", null);
  server.addHook("preParsing", (request, _reply, payload, done) => {
    if (!request.customRoute) return done(null, payload);
    const limit = request.customRoute.route.bodyLimit;
    const length = Number(request.headers["content-length"] ?? Number.NaN);
    if (limit !== undefined && length > limit) {
      return done(new ApiError(413, "Request entity too large."), payload);
    }
    let body: NodeJS.ReadableStream = limit === undefined ? payload : payload.pipe(capped(limit));
    // the text as received, for signature checks (bounded by the route's or the server's body limit;
    // multipart bodies stream to disk instead)
    const type = String(request.headers["content-type"] ?? "").toLowerCase();
    if (!type.startsWith("multipart/")) {
      body = body.pipe(
        recorded((text) => {
          request.rawBody = text;
        }),
      );
    }
    done(null, body as typeof payload);
  });
  server.setNotFoundHandler(async (request: FastifyRequest, reply: FastifyReply) => {
    const match = request.customRoute;
    if (!match) return reply.status(404).send(new ApiError(404).toJSON());
    let answered = false;
    const e: RouteEvent = routeEvent(
      request,
      reply,
      match,
      firstValues(request.query),
      clientIp(app, request),
      () => {
        answered = true;
      },
    );
    const { middlewares, handler } = match.route;
    const run = async (i: number): Promise<void> => {
      if (i < middlewares.length) {
        await middlewares[i](e, () => run(i + 1));
        return;
      }
      const out = await handler(e);
      if (!answered && !reply.sent && out !== undefined && out !== reply) {
        answered = true;
        reply.status(200).send(out);
      }
    };
    try {
      await run(0);
    } catch (err) {
      throw toHookFailure(err, `${match.route.method} ${match.route.path}`, app.log, host.dir);
    }
    if (!answered && !reply.sent) reply.status(204).send();
    return reply;
  });
}
