import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import type { Readable } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import FindMyWay from "find-my-way";
import type { RequestAuth } from "../auth/index.js";
import { ApiError, forbidden, unauthorized } from "../errors/index.js";

/** The methods custom routes may answer. */
export type RouteMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS";

/** The request a custom route handles, with helpers to answer it. */
export interface RouteEvent {
  readonly method: string;
  readonly url: string;
  /** Path parameters (`/api/hello/:name` → `params.name`). */
  readonly params: Record<string, string>;
  /** Query parameters (first value of each). */
  readonly query: Record<string, string>;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The parsed body: JSON, or the fields and files of a multipart form; `{}` when none. */
  readonly body: Record<string, unknown>;
  /**
   * The body's text exactly as received (JSON, text and form posts; null for multipart or no body): what a
   * signature over the body (an inbound webhook) must be checked against.
   */
  readonly rawBody: string | null;
  /** The signed-in caller, or null for a guest. */
  readonly auth: RequestAuth | null;
  /** The client's address (after the trusted-proxy settings). */
  readonly ip: string;
  /** The underlying Fastify request and reply, for anything the helpers do not cover. */
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  /** Answers JSON. */
  json(status: number, data: unknown): void;
  /** Answers HTML. */
  html(status: number, html: string): void;
  /** Answers plain text. */
  text(status: number, text: string): void;
  /** Redirects (302 unless told). */
  redirect(url: string, status?: number): void;
  /** Streams a body with its content type. */
  stream(status: number, contentType: string, body: Readable): void;
  /** Sends a file from disk as a download (or inline when `inline` is true). */
  file(path: string, opts?: { name?: string; contentType?: string; inline?: boolean }): Promise<void>;
  /** Answers 204 with no body. */
  noContent(): void;
}

/** A custom route's handler; a returned value (when it answered nothing itself) is sent as JSON 200. */
export type RouteHandler = (e: RouteEvent) => unknown;

/** A middleware: runs before the handler; call `next()` to go on, throw an ApiError to refuse. */
export type RouteMiddleware = ((e: RouteEvent, next: () => Promise<void>) => unknown) & {
  /** Set by `bodyLimit(bytes)`: the most body bytes the route reads (checked while the body streams in). */
  readonly bodyLimit?: number;
  /** Set by `rateLimit(label)`: the rate-limit label of the route (see the settings' rate limits). */
  readonly rateLimitLabel?: string;
};

/** One registered custom route. */
export interface CustomRoute {
  readonly method: RouteMethod;
  readonly path: string;
  readonly handler: RouteHandler;
  readonly middlewares: readonly RouteMiddleware[];
  /** The smallest `bodyLimit` among the middlewares, if any. */
  readonly bodyLimit?: number;
  readonly rateLimitLabels: readonly string[];
}

/** A matched route with its path parameters. */
export interface RouteMatch {
  readonly route: CustomRoute;
  readonly params: Record<string, string>;
}

/**
 * The custom routes of the hook files (`app.router.get(path, handler, ...middlewares)`), matched with
 * find-my-way. Built-in routes always win; a request no built-in route answers is tried here. A `--dev`
 * reload builds a new router and swaps it in at once.
 */
export class HookRouter {
  private readonly fmw = FindMyWay({ ignoreTrailingSlash: true, maxParamLength: 500 });
  private readonly list: CustomRoute[] = [];

  /** Adds a route for a method. */
  add(method: RouteMethod, path: string, handler: RouteHandler, middlewares: RouteMiddleware[]): void {
    if (typeof path !== "string" || !path.startsWith("/")) {
      throw new TypeError(`a route path must start with "/" (got ${JSON.stringify(path)})`);
    }
    if (typeof handler !== "function")
      throw new TypeError(`the handler of ${method} ${path} is not a function`);
    const limits = middlewares.map((m) => m.bodyLimit).filter((n): n is number => typeof n === "number");
    const route: CustomRoute = {
      method,
      path,
      handler,
      middlewares,
      ...(limits.length ? { bodyLimit: Math.min(...limits) } : {}),
      rateLimitLabels: middlewares.map((m) => m.rateLimitLabel).filter((l): l is string => !!l),
    };
    this.fmw.on(method, path, () => {}, route);
    this.list.push(route);
  }

  /** The route that answers a method and URL, or null. */
  match(method: string, url: string): RouteMatch | null {
    const path = url.split("?", 1)[0];
    const found = this.fmw.find(method as RouteMethod, path);
    if (!found) return null;
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(found.params)) if (v !== undefined) params[k] = v;
    return { route: found.store as CustomRoute, params };
  }

  /** The registered routes (for listings and tests). */
  get routes(): readonly CustomRoute[] {
    return this.list;
  }
}

/** Builds the event a handler receives. */
export function routeEvent(
  request: FastifyRequest,
  reply: FastifyReply,
  match: RouteMatch,
  query: Record<string, string>,
  ip: string,
  answered: () => void,
): RouteEvent {
  const body = request.body;
  return {
    method: request.method,
    url: request.url,
    params: match.params,
    query,
    headers: request.headers,
    body: body && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : {},
    auth: request.auth,
    rawBody: typeof request.rawBody === "string" ? request.rawBody : null,
    ip,
    request,
    reply,
    json(status, data) {
      answered();
      reply.status(status).send(data);
    },
    html(status, html) {
      answered();
      reply.status(status).type("text/html; charset=utf-8").send(html);
    },
    text(status, text) {
      answered();
      reply.status(status).type("text/plain; charset=utf-8").send(text);
    },
    redirect(url, status = 302) {
      answered();
      reply.redirect(url, status);
    },
    stream(status, contentType, stream) {
      answered();
      reply.status(status).type(contentType).send(stream);
    },
    noContent() {
      answered();
      reply.status(204).send();
    },
    async file(path, opts = {}) {
      const info = await stat(path);
      answered();
      const name = (opts.name ?? basename(path)).replace(/["\\\r\n]/g, "_");
      reply
        .status(200)
        .type(opts.contentType ?? "application/octet-stream")
        .header("content-length", String(info.size))
        .header("content-disposition", `${opts.inline ? "inline" : "attachment"}; filename="${name}"`)
        .header("x-content-type-options", "nosniff");
      return void reply.send(createReadStream(path));
    },
  };
}

/** Refuses guests, and callers outside the given auth collections when any are named. */
export function requireAuth(...collections: string[]): RouteMiddleware {
  return (e, next) => {
    const auth = e.auth;
    if (!auth) throw unauthorized("The request requires valid record authorization token.");
    if (
      collections.length &&
      !collections.includes(auth.collection.name) &&
      !collections.includes(auth.collection.id)
    ) {
      throw forbidden("The authorized record is not allowed to perform this action.");
    }
    return next();
  };
}

/** Refuses everyone but superusers. */
export function requireSuperuserAuth(): RouteMiddleware {
  return (e, next) => {
    if (!e.auth) throw unauthorized("The request requires valid record authorization token.");
    if (!e.auth.isSuperuser) throw forbidden("The authorized record is not allowed to perform this action.");
    return next();
  };
}

/** Refuses signed-in callers. */
export function requireGuestOnly(): RouteMiddleware {
  return (e, next) => {
    if (e.auth) throw badGuest();
    return next();
  };
}

function badGuest(): ApiError {
  return new ApiError(400, "The request can be accessed only by guests.");
}

/** Limits the body a route reads to `bytes` (413 above it, checked while the body arrives). */
export function bodyLimit(bytes: number): RouteMiddleware {
  if (!Number.isFinite(bytes) || bytes < 0) throw new TypeError("bodyLimit takes a number of bytes");
  const m = ((_e: RouteEvent, next: () => Promise<void>) => next()) as RouteMiddleware;
  return Object.assign(m, { bodyLimit: Math.floor(bytes) });
}

/**
 * Gives the route a rate-limit label: the settings' rule for that label (PocketBase's `rateLimits.rules`,
 * e.g. `{label: "hello", maxRequests: 5, duration: 10}`) counts its requests per client address.
 */
export function rateLimit(label: string): RouteMiddleware {
  if (typeof label !== "string" || !label) throw new TypeError("rateLimit takes a label");
  const m = ((_e: RouteEvent, next: () => Promise<void>) => next()) as RouteMiddleware;
  return Object.assign(m, { rateLimitLabel: label });
}
