import type { FastifyInstance } from "fastify";
import { decodeToken, randomPassword } from "../auth/index.js";
import type { App } from "../core/app.js";
import { badRequest, type ErrorData, fieldError } from "../errors/index.js";
import { bodyObject } from "./guards.js";
import {
  authCollectionOr404,
  readEmailRequest,
  sendRecordEmail,
  throwIfInvalid,
} from "./records-auth-helpers.js";
import { verifyAccount } from "./records-auth-oauth2-link.js";

type Params = { Params: { collection: string } };

/**
 * `POST …/request-verification` and `POST …/confirm-verification`. The request always answers 204 (no account
 * enumeration) and mails a `verification` token only to an unverified account, at most once per two minutes;
 * confirming marks the account verified (idempotent: a used token changes nothing more).
 */
export function registerAuthVerification(server: FastifyInstance, app: App): void {
  server.post<Params>("/api/collections/:collection/request-verification", async (request, reply) => {
    const collection = authCollectionOr404(app, request.params.collection);
    const { record, email } = await readEmailRequest(app, request, collection);
    // PocketBase's resend guard: one message per address per two minutes, silently; consumed for unknown and
    // verified accounts too, so every answer takes the same steps (issue 10).
    const fresh = (await app.limiter.consume("emailResend", `verification:${collection.id}:${email}`)) === 0;
    if (record && !record.verified && fresh) {
      const token = app.auth.newToken(collection, record, "verification", { email: String(record.email) });
      sendRecordEmail(
        app,
        collection,
        record,
        String(record.email),
        collection.verificationTemplate,
        { TOKEN: token },
        "verification",
      );
    }
    return reply.status(204).send();
  });

  server.post<Params>("/api/collections/:collection/confirm-verification", async (request, reply) => {
    const collection = authCollectionOr404(app, request.params.collection);
    if (collection.name === "_superusers") throw badRequest("All superusers are verified by default.");
    const token = bodyObject(request).token;
    const errors: ErrorData = {};
    let auth = null;
    if (typeof token !== "string" || token === "")
      errors.token = fieldError("validation_required", "Cannot be blank.");
    else if (!decodeToken(token)?.email) {
      errors.token = fieldError("validation_invalid_token_claims", "Missing email token claim.");
    } else {
      auth = await app.auth.verify(token, "verification");
      if (!auth) errors.token = fieldError("validation_invalid_token", "Invalid or expired token.");
      else if (auth.collection.id !== collection.id) {
        errors.token = fieldError(
          "validation_token_collection_mismatch",
          "The provided token is for different auth collection.",
        );
      } else if (String(auth.record.email) !== auth.claims.email) {
        errors.token = fieldError(
          "validation_token_email_mismatch",
          "The record email doesn't match with the requested token claims.",
        );
      }
    }
    throwIfInvalid(errors);
    const record = auth!.record;
    if (!record.verified) {
      // Without password sign-in the account gets a password nobody knows, so a pre-registered one is void.
      const password = collection.passwordAuth.enabled ? undefined : randomPassword();
      await verifyAccount(app, collection, record, { verified: true, password });
    }
    return reply.status(204).send();
  });
}
