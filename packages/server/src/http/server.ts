import { randomUUID } from "node:crypto";
import { join } from "node:path";
import cors from "@fastify/cors";
import type { Context } from "@opentelemetry/api";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import { registerApi } from "../api/index.js";
import { superuserRequestAllowed } from "../api/superuser-ips.js";
import { uploadLimits } from "../api/upload-limits.js";
import type { RequestAuth } from "../auth/index.js";
import { superuserIpRefused } from "../auth/index.js";
import type { App } from "../core/app.js";
import { ApiError } from "../errors/index.js";
import type { HookHost } from "../hooks/hook-host.js";
import { registerCustomRoutes } from "../hooks/serve-routes.js";
import { redactUrl } from "../observability/index.js";
import { findInputProblem, MAX_INPUT_DEPTH } from "../util/index.js";
import { registerAdminUi } from "./admin-ui.js";
import { capConnectionsPerAddress } from "./connection-cap.js";
import { handleError, handleNotFound } from "./error-handler.js";
import { LazyChildLogger } from "./lazy-child-logger.js";
import { registerMultipartBody } from "./multipart-body.js";
import { registerPublicDir } from "./public-dir.js";
import { SECURITY_HEADERS } from "./security-headers.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The caller, or null for a guest. Loaded once per request from `Authorization`. */
    auth: RequestAuth | null;
    /** The error this request was answered with, kept for its log entry. */
    failure: ApiError | null;
    /** The request's tracing context (its server span), when tracing is on. */
    traceContext: Context | null;
  }
  interface FastifyContextConfig {
    /** Successful answers of this route are not stored in the request logs (PocketBase's logs routes). */
    skipSuccessLog?: boolean;
  }
}

/** Builds the Fastify instance for an app: plugins, the error mapper, auth loading, access log, routes. */
export async function buildServer(app: App, hooks?: HookHost): Promise<FastifyInstance> {
  const server = Fastify({
    loggerInstance: app.log as FastifyBaseLogger,
    // One access-log line per request is written by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
    // a request's child logger is built only if something logs through it
    childLoggerFactory: (logger, bindings, options) =>
      new LazyChildLogger(logger, bindings, options) as unknown as FastifyBaseLogger,
    bodyLimit: app.config.bodyLimit,
    onProtoPoisoning: "remove",
    onConstructorPoisoning: "remove",
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
    },
    trustProxy: app.config.trustedProxies.length ? app.config.trustedProxies : false,
    forceCloseConnections: "idle",
    requestTimeout: 300_000,
    keepAliveTimeout: 65_000,
    // Node's default 16 KiB header limit answers a long filter URL with a bare 431; PocketBase (Go, 1 MiB)
    // lets it reach the filter parser, whose 3,500-character limit answers PocketBase's 400.
    http: { headersTimeout: 15_000, maxHeaderSize: 256 * 1024 } as never,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
  });
  server.server.maxConnections = 10_000;
  capConnectionsPerAddress(server.server, app.config.maxConnectionsPerIp, app.config.trustedProxies);

  const anyOrigin = app.config.origins.includes("*");
  await server.register(cors, {
    origin: anyOrigin ? true : app.config.origins,
    methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    credentials: false,
    maxAge: 86400,
  });

  // PocketBase (and the SDK, which sends a JSON content type on body-less POST/DELETE) treats an empty body
  // as an empty object; everything else goes through Fastify's parser, which drops prototype keys.
  const jsonParser = server.getDefaultJsonParser("remove", "remove");
  server.removeContentTypeParser("application/json");
  server.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    if (typeof body === "string" && body.trim() === "") return done(null, {});
    try {
      return jsonParser(request, body as string, done);
    } catch {
      // a RangeError from nesting too deep for the parser's own scan
      return done(
        new ApiError(400, "Failed to load the submitted data due to invalid formatting."),
        undefined,
      );
    }
  });

  registerMultipartBody(server, {
    spoolDir: join(app.config.dataDir, ".tmp", "uploads"),
    limitsFor: (request) => uploadLimits(app, request),
  });
  // Form posts (e.g. Apple's OAuth2 form_post callback): plain key/value pairs; bounded by bodyLimit.
  server.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string" },
    (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );

  // Odd input is a 400 before any route sees it: nesting deeper than the stores and serialisers handle, and
  // strings no store keeps as sent (NUL, lone UTF-16 surrogates).
  server.addHook("preValidation", (request, _reply, done) => {
    const problem = findInputProblem(request.body) ?? findInputProblem(request.query);
    if (!problem) return done();
    done(
      new ApiError(
        400,
        problem === "too_deep"
          ? `Failed to load the submitted data: nested deeper than ${MAX_INPUT_DEPTH} levels.`
          : "Failed to load the submitted data: text may not contain NUL characters or unpaired UTF-16 surrogates.",
      ),
    );
  });

  server.decorateRequest("auth", null);
  server.decorateRequest("failure", null);
  server.decorateRequest("traceContext", null);
  registerObservabilityHooks(server, app);
  // Callback-style hooks: a guest request (no Authorization header) costs no promise on the hot path.
  const metrics = app.metrics;
  server.addHook("onRequest", (request, reply, done) => {
    metrics?.requestStarted();
    reply.headers(SECURITY_HEADERS);
    reply.header("x-request-id", request.id);
    const header = request.headers.authorization;
    if (!header) return done();
    app.auth.authenticate(header).then((auth) => {
      request.auth = auth;
      if (auth?.apiKey && KEY_REFUSED_ROUTES.has(`${request.method} ${request.routeOptions.url}`)) {
        return done(
          new ApiError(
            403,
            "API keys are for record actions; realtime subscriptions, token refreshes, file tokens and e-mail changes need a signed-in session.",
          ),
        );
      }
      // PocketBase's superuserIPs: a superuser's request from outside the allowlist is refused outright
      if (auth?.isSuperuser && !superuserRequestAllowed(app, request)) return done(superuserIpRefused());
      done();
    }, done);
  });
  server.addHook("onResponse", (request, reply, done) => {
    done();
    const status = reply.statusCode;
    const auth = request.auth;
    if (app.log.isLevelEnabled("info")) {
      request.log.info(
        {
          method: request.method,
          url: redactUrl(request.url),
          status,
          ms: Math.round(reply.elapsedTime * 100) / 100,
          ip: request.ip,
          auth: auth ? `${auth.collection.name}/${String(auth.record.id)}` : undefined,
          apiKey: auth?.apiKey?.id,
          traceId: request.traceContext ? app.tracing?.traceIdOf(request.traceContext) : undefined,
        },
        "request",
      );
    }
    const failure = request.failure;
    // Fastify builds a new frozen object on every `routeOptions` read
    const route = request.routeOptions;
    metrics?.requestFinished(request.method, route.url ?? "unmatched", status, reply.elapsedTime / 1000);
    if (request.traceContext) app.tracing?.endServerSpan(request.traceContext, status);
    if (!failure && status < 400 && route.config.skipSuccessLog) return;
    app.logs.request({
      method: request.method,
      url: request.url,
      status,
      execTime: reply.elapsedTime,
      referer: request.headers.referer ?? "",
      userAgent: request.headers["user-agent"] ?? "",
      auth: auth ? auth.collection.name : "",
      authId: auth ? String(auth.record.id) : "",
      apiKey: auth?.apiKey?.id,
      userIP: request.ip,
      remoteIP: request.socket.remoteAddress ?? "",
      error: failure?.message,
      details: failure?.data,
    });
  });

  server.setErrorHandler(handleError);
  registerApi(server, app);
  // custom routes answer what no built-in route does (their onRequest runs after the auth is loaded)
  if (hooks) registerCustomRoutes(server, app, hooks);
  else server.setNotFoundHandler(handleNotFound);
  await registerAdminUi(server);
  await registerPublicDir(server, { dir: app.config.publicDir, indexFallback: app.config.indexFallback });
  return server;
}

/**
 * Routes a request made with an API key may not use (issue 18): a key acts for record actions only, and
 * these would outlive a revocation (a realtime subscription, a minted token) or change the account itself.
 */
const KEY_REFUSED_ROUTES = new Set([
  "POST /api/realtime",
  "GET /api/graphql/stream",
  "POST /api/graphql/stream",
  "PUT /api/graphql/stream",
  "DELETE /api/graphql/stream",
  "POST /api/collections/:collection/auth-refresh",
  "POST /api/collections/:collection/request-email-change",
  "POST /api/files/token",
]);

/**
 * Metrics and tracing hooks, registered only when each is on (so neither costs anything when off). A
 * request's server span is named by its route template; the handler runs inside its context (set again
 * after the body is read, whose stream events run outside it), so child spans attach to it.
 */
function registerObservabilityHooks(server: FastifyInstance, app: App): void {
  const { tracing } = app;
  if (!tracing) return;
  server.addHook("onRequest", (request, _reply, done) => {
    const route = request.routeOptions.url;
    const ctx = tracing.startServerSpan(
      route ? `${request.method} ${route}` : request.method,
      request.headers,
      {
        "http.request.method": request.method,
        "http.route": route ?? "",
        "url.path": request.url.split("?", 1)[0].slice(0, 2000),
        "url.scheme": request.protocol,
        "client.address": request.ip,
        "user_agent.original": String(request.headers["user-agent"] ?? "").slice(0, 500),
        "basalt.request.id": request.id,
      },
    );
    request.traceContext = ctx;
    tracing.runIn(ctx, done);
  });
  server.addHook("preHandler", (request, _reply, done) => {
    if (request.traceContext) tracing.runIn(request.traceContext, done);
    else done();
  });
  server.addHook("onRequestAbort", (request, done) => {
    if (request.traceContext) tracing.endServerSpan(request.traceContext, 499);
    done();
  });
}
