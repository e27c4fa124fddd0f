import type { FastifyRequest } from "fastify";
import { superuserIpAllowed } from "../auth/index.js";
import type { App } from "../core/app.js";
import { clientIp } from "./rate-limit.js";

/** Whether a superuser may act from this request's client address ({@link clientIp}, `superuserIPs`). */
export function superuserRequestAllowed(app: App, request: FastifyRequest): boolean {
  return superuserIpAllowed(app, clientIp(app, request));
}
