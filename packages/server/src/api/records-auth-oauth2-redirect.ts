import type { FastifyInstance, FastifyReply } from "fastify";
import type { App } from "../core/app.js";

/** Where the browser goes after the provider's redirect, relative to `/api/oauth2-redirect`, as in PocketBase. */
export const OAUTH2_REDIRECT_SUCCESS = "../_/#/auth/oauth2-redirect-success";
/** Where the browser goes when the sign-in cannot complete. */
export const OAUTH2_REDIRECT_FAILURE = "../_/#/auth/oauth2-redirect-failure";
/** The realtime topic the SDK's all-in-one OAuth2 flow waits on. */
export const OAUTH2_TOPIC = "@oauth2";

function param(source: unknown, name: string): string {
  const value = (source as Record<string, unknown> | null)?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === "string" ? first.slice(0, 4096) : "";
}

/**
 * `GET|POST /api/oauth2-redirect`: the provider's callback in the SDK's all-in-one OAuth2 flow. `state` is the
 * realtime client id that subscribed to `@oauth2`; the client receives `{state, code, error}` and finishes the
 * sign-in with auth-with-oauth2, and the browser is sent to the success or failure page. POST serves providers
 * that answer with a form (Apple's `form_post`).
 */
export function registerOAuth2Redirect(server: FastifyInstance, app: App): void {
  const handle = async (source: unknown, reply: FastifyReply, status: number) => {
    const state = param(source, "state");
    const code = param(source, "code");
    const error = param(source, "error");
    if (!state) return reply.redirect(OAUTH2_REDIRECT_FAILURE, status);
    const delivered = await app.realtime.sendDirect(state, OAUTH2_TOPIC, { state, code, error });
    const ok = delivered && code !== "" && error === "";
    return reply.redirect(ok ? OAUTH2_REDIRECT_SUCCESS : OAUTH2_REDIRECT_FAILURE, status);
  };
  server.get("/api/oauth2-redirect", (request, reply) => handle(request.query, reply, 307));
  server.post("/api/oauth2-redirect", (request, reply) => handle(request.body, reply, 303));
}
