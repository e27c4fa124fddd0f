import type { FastifyInstance } from "fastify";
import { signInWithOAuth2 } from "../auth/flows/index.js";
import type { App } from "../core/app.js";
import { bodyObject } from "./guards.js";
import { authCallerOf, authCollectionOr404 } from "./records-auth-helpers.js";

/** `POST /api/collections/{c}/auth-with-oauth2`: the OAuth2 sign-in flow (code exchange, link or sign-up). */
export function registerAuthWithOAuth2(server: FastifyInstance, app: App): void {
  server.post<{ Params: { collection: string } }>(
    "/api/collections/:collection/auth-with-oauth2",
    async (request, reply) => {
      const collection = authCollectionOr404(app, request.params.collection);
      const answer = await signInWithOAuth2(app, authCallerOf(app, request), collection, bodyObject(request));
      return reply.status(answer.status).send(answer.body);
    },
  );
}
