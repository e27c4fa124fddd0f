import type { FastifyRequest } from "fastify";
import type { RequestAuth } from "../auth/index.js";
import { forbidden, unauthorized } from "../errors/index.js";

/** Returns the superuser calling, or throws 401 (no auth) / 403 (another kind of auth). */
export function requireSuperuser(request: FastifyRequest): RequestAuth {
  if (!request.auth) throw unauthorized("The request requires superuser authorization token to be set.");
  if (!request.auth.isSuperuser)
    throw forbidden("The authorized record is not allowed to perform this action.");
  return request.auth;
}

/** Returns the auth record calling, or throws 401. */
export function requireAuth(request: FastifyRequest): RequestAuth {
  if (!request.auth) throw unauthorized("The request requires valid record authorization token.");
  return request.auth;
}

/** The request body as an object; anything else (arrays, strings, absent) becomes an empty object. */
export function bodyObject(request: FastifyRequest): Record<string, unknown> {
  const body = request.body;
  return typeof body === "object" && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : {};
}
