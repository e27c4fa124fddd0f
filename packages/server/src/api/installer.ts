import type { FastifyInstance, FastifyRequest } from "fastify";
import { superuserInputErrors } from "../auth/index.js";
import type { App } from "../core/app.js";
import { badRequest, fieldError, forbidden } from "../errors/index.js";
import { bodyObject } from "./guards.js";

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;

/**
 * Whether the caller sits on this machine: both the socket peer and the client address (after trusted
 * proxies) are loopback addresses, so a proxy on this machine does not make remote visitors local.
 */
export function isLoopbackRequest(request: FastifyRequest): boolean {
  return LOOPBACK.test(request.socket.remoteAddress ?? "") && LOOPBACK.test(request.ip);
}

/**
 * `GET /api/basalt/installer` tells the dashboard whether a first superuser is still needed (and whether
 * this caller may use the installer link); `POST /api/basalt/installer` creates that superuser with the
 * one-time token `basalt serve` printed. Both are Basalt's own (PocketBase does this with a hidden
 * placeholder superuser); the POST answers only loopback callers while no superuser exists.
 */
export function registerInstaller(server: FastifyInstance, app: App): void {
  server.get("/api/basalt/installer", async (request) => {
    const needed = (await app.auth.countSuperusers()) === 0;
    return {
      needsSuperuser: needed,
      installer: needed && app.installer.active && isLoopbackRequest(request),
    };
  });

  server.post("/api/basalt/installer", async (request, reply) => {
    const body = bodyObject(request);
    if (!isLoopbackRequest(request) || !app.installer.check(body.token)) {
      throw forbidden("The installer link is invalid, has expired or is not opened from this machine.");
    }
    const email = typeof body.email === "string" ? body.email : "";
    const password = typeof body.password === "string" ? body.password : "";
    const errors = superuserInputErrors(email, password) ?? {};
    if (body.passwordConfirm !== password) {
      errors.passwordConfirm = fieldError("validation_values_mismatch", "Values don't match.");
    }
    // Bad input keeps the link usable; a valid request spends it before the first await, so two concurrent
    // posts cannot both create a superuser.
    if (Object.keys(errors).length) throw badRequest("Failed to create record.", errors);
    app.installer.revoke();
    if ((await app.auth.countSuperusers()) > 0)
      throw forbidden("A superuser already exists; sign in instead.");
    await app.auth.upsertSuperuser(email, password);
    reply.status(204);
  });
}
