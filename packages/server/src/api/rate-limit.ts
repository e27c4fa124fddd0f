import { isIP } from "node:net";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { App } from "../core/app.js";
import type { Collection } from "../core/collections/index.js";
import {
  AUTH_AUDIENCES,
  findRateLimitRule,
  GUEST_AUDIENCES,
  ipBlock,
  ipInBlock,
  type RateLimitRule,
} from "../core/settings/index.js";
import { tooManyRequests } from "../errors/index.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * Rate-limit labels of a route, tried before its `METHOD /path` and `/path` labels (see
     * `rateLimitLabels`).
     */
    rateLimitLabels?: readonly string[];
  }
}

/**
 * The route config that gives a route its own rate-limit labels, checked (most specific first) before the
 * request's `METHOD /path` and `/path`, as PocketBase's labels are. For custom routes:
 * @example server.post("/api/hello", { config: rateLimitLabels("hello") }, handler)
 */
export function rateLimitLabels(...labels: string[]): { rateLimitLabels: readonly string[] } {
  return { rateLimitLabels: labels };
}

// The tags PocketBase gives its collection routes: `<collection>:<tag>` and `*:<tag>` labels, in this order.
const RECORDS = "/api/collections/:collection/records";
const COLLECTION_TAGS: Record<string, readonly string[]> = {
  [`GET ${RECORDS}`]: ["list"],
  [`GET ${RECORDS}/:id`]: ["view"],
  [`POST ${RECORDS}`]: ["create"],
  [`PATCH ${RECORDS}/:id`]: ["update"],
  [`DELETE ${RECORDS}/:id`]: ["delete"],
  "GET /api/collections/:collection/auth-methods": ["listAuthMethods"],
  "POST /api/collections/:collection/auth-refresh": ["authRefresh"],
  "POST /api/collections/:collection/auth-with-password": ["authWithPassword", "auth"],
  "POST /api/collections/:collection/auth-with-oauth2": ["authWithOAuth2", "auth"],
  "POST /api/collections/:collection/request-otp": ["requestOTP"],
  "POST /api/collections/:collection/auth-with-otp": ["authWithOTP", "auth"],
  "POST /api/collections/:collection/request-password-reset": ["requestPasswordReset"],
  "POST /api/collections/:collection/confirm-password-reset": ["confirmPasswordReset"],
  "POST /api/collections/:collection/request-verification": ["requestVerification"],
  "POST /api/collections/:collection/confirm-verification": ["confirmVerification"],
  "POST /api/collections/:collection/request-email-change": ["requestEmailChange"],
  "POST /api/collections/:collection/confirm-email-change": ["confirmEmailChange"],
};

/** The records actions a batch item may run, and the tag each counts under. */
export const BATCH_ITEM_PATTERNS = {
  create: `POST ${RECORDS}`,
  upsert: `PUT ${RECORDS}`,
  update: `PATCH ${RECORDS}/:id`,
  delete: `DELETE ${RECORDS}/:id`,
} as const;

/**
 * The client's address as PocketBase's `RealIP` finds it: with `trustedProxy.headers` set, the last value of
 * the first such header present, read right to left (or left to right with `useLeftmostIP`), first valid IP;
 * otherwise the connection's address. With `--trusted-proxies` given, headers are believed only from those
 * proxies, and without `trustedProxy.headers` Fastify's `X-Forwarded-For` handling for them applies.
 */
export function clientIp(app: App, request: FastifyRequest): string {
  const proxy = app.settings.trustedProxy;
  if (proxy.headers.length === 0) return normaliseIp(request.ip);
  const peer = request.socket?.remoteAddress ?? request.ip;
  if (app.config.trustedProxies.length > 0 && !peerTrusted(app.config.trustedProxies, peer)) {
    return normaliseIp(peer);
  }
  for (const name of proxy.headers) {
    const raw = request.headers[name.toLowerCase()];
    const last = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (!last) continue;
    const ips = last.split(",").map((s) => s.trim());
    if (!proxy.useLeftmostIP) ips.reverse();
    const found = ips.find((ip) => isIP(ip) !== 0);
    if (found) return normaliseIp(found);
  }
  return normaliseIp(peer);
}

const trustedBlocks = new Map<string, ReturnType<typeof ipBlock>>();
function peerTrusted(proxies: readonly string[], peer: string): boolean {
  const key = proxies.join(",");
  let block = trustedBlocks.get(key);
  if (block === undefined) {
    block = ipBlock(proxies);
    trustedBlocks.set(key, block);
  }
  return block !== null && ipInBlock(block, peer);
}

function normaliseIp(ip: string): string {
  const v = ip.toLowerCase();
  return v.startsWith("::ffff:") && isIP(v.slice(7)) === 4 ? v.slice(7) : v;
}

let excludedCache: { list: readonly string[]; block: ReturnType<typeof ipBlock> } | undefined;
function excluded(list: readonly string[], ip: string): boolean {
  if (list.length === 0) return false;
  if (excludedCache?.list !== list) excludedCache = { list, block: ipBlock(list) };
  return excludedCache.block !== null && ipInBlock(excludedCache.block, ip);
}

/** What a rate-limit check is about: extra labels, or a collection route's tags. */
export interface RateLimitTarget {
  /** Labels tried before the request's `METHOD /path` and `/path`. */
  readonly labels?: readonly string[];
  /** A collection route: `<name>:<tag>` and `*:<tag>` labels come first, counted per collection and route. */
  readonly collection?: Collection;
  readonly tags?: readonly string[];
  /** The route's `METHOD pattern` (default: the matched route's). */
  readonly pattern?: string;
  /** The path labels (default: the request's path); a batch item passes its own. */
  readonly method?: string;
  readonly path?: string;
}

/**
 * Applies the settings' rate-limit rules to a request, as PocketBase's middleware does: nothing when rate
 * limits are off, for superusers, or for an excluded IP; otherwise the most specific rule for the request's
 * labels and audience counts the request against the client IP, and a request over the limit is PocketBase's
 * 429. Counters are shared by every instance when Redis is configured.
 */
export async function checkRateLimit(
  app: App,
  request: FastifyRequest,
  reply: FastifyReply,
  target: RateLimitTarget = {},
): Promise<void> {
  const settings = app.settings.rateLimits;
  if (!settings.enabled || request.auth?.isSuperuser) return;
  const ip = clientIp(app, request);
  if (!ip || excluded(settings.excludedIPs, ip)) return;
  const method = target.method ?? request.method;
  const path = target.path ?? request.url.split("?", 1)[0];
  const labels: string[] = [];
  const tags = target.tags ?? [];
  if (target.collection) for (const tag of tags) labels.push(`${target.collection.name}:${tag}`);
  for (const tag of tags) labels.push(`*:${tag}`);
  if (target.labels) labels.push(...target.labels);
  labels.push(`${method} ${path}`, path);
  const rule = findRateLimitRule(settings.rules, labels, request.auth ? AUTH_AUDIENCES : GUEST_AUDIENCES);
  if (!rule) return;
  const counter = target.collection
    ? `${target.collection.id}${target.pattern ?? routePattern(request)}${tags.join("")}${rule.audience}`
    : `${rule.label}${rule.audience}`;
  // a request with an API key counts against the key, wherever it comes from (issue 18)
  const subject = request.auth?.apiKey ? `key:${request.auth.apiKey.id}` : ip;
  await hitOrThrow(app, reply, `rl:${counter}:${subject}`, rule);
}

async function hitOrThrow(app: App, reply: FastifyReply, key: string, rule: RateLimitRule): Promise<void> {
  const wait = await app.limiter.hit(key, rule);
  if (wait > 0) {
    reply.header("retry-after", String(wait));
    throw tooManyRequests();
  }
}

function routePattern(request: FastifyRequest): string {
  return `${request.method} ${request.routeOptions.url ?? ""}`;
}

/**
 * Registers the rate-limit check on every route (after the caller's auth is loaded, so `@guest`/`@auth`
 * rules and the superuser exemption apply). Collection routes count under PocketBase's collection labels.
 */
export function registerRateLimits(server: FastifyInstance, app: App): void {
  server.addHook("onRequest", (request, reply, done) => {
    if (!app.settings.rateLimits.enabled || request.method === "OPTIONS") return done();
    const url = request.routeOptions.url;
    if (url === undefined) return done();
    const pattern = `${request.method} ${url}`;
    const tags = COLLECTION_TAGS[pattern];
    const params = request.params as { collection?: string } | undefined;
    const collection = tags && params?.collection ? app.collections.find(params.collection) : undefined;
    const labels = request.routeOptions.config?.rateLimitLabels;
    checkRateLimit(app, request, reply, collection ? { collection, tags, pattern, labels } : { labels }).then(
      () => done(),
      done,
    );
  });
}
