import type { FastifyInstance } from "fastify";
import { requestOtp, signInWithOtp } from "../auth/flows/index.js";
import type { App } from "../core/app.js";
import { bodyObject } from "./guards.js";
import { authCallerOf, authCollectionOr404 } from "./records-auth-helpers.js";

type Params = { Params: { collection: string } };

/**
 * `POST …/request-otp` (mails a one-time code; answers an `otpId` whether or not the e-mail is known) and
 * `POST …/auth-with-otp` (`{otpId, password}`): the OTP flows.
 */
export function registerAuthOtp(server: FastifyInstance, app: App): void {
  server.post<Params>("/api/collections/:collection/request-otp", async (request) => {
    const collection = authCollectionOr404(app, request.params.collection);
    return requestOtp(app, collection, bodyObject(request).email);
  });

  server.post<Params>("/api/collections/:collection/auth-with-otp", async (request, reply) => {
    const collection = authCollectionOr404(app, request.params.collection);
    const answer = await signInWithOtp(app, authCallerOf(app, request), collection, bodyObject(request));
    return reply.status(answer.status).send(answer.body);
  });
}
