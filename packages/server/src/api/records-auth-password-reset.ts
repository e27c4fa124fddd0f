import type { FastifyInstance } from "fastify";
import { hashPassword, updateAuthRecord } from "../auth/index.js";
import type { App } from "../core/app.js";
import { findField } from "../core/collections/index.js";
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
 * `POST …/request-password-reset` and `POST …/confirm-password-reset`. The request always answers 204 and
 * mails a `passwordReset` token only when the account exists; confirming sets the new password, which rotates
 * the token key, so the reset token (and every session) stops working; it also marks the account verified
 * when the token's e-mail is still the account's.
 */
export function registerAuthPasswordReset(server: FastifyInstance, app: App): void {
  server.post<Params>("/api/collections/:collection/request-password-reset", async (request, reply) => {
    const collection = authCollectionOr404(app, request.params.collection);
    if (!collection.passwordAuth.enabled) {
      throw badRequest("The collection is not configured to allow password authentication.");
    }
    const { record, email } = await readEmailRequest(app, request, collection);
    // The resend guard is keyed and consumed by address, known or not, so both take the same steps (issue 10).
    const fresh = (await app.limiter.consume("emailResend", `passwordReset:${collection.id}:${email}`)) === 0;
    if (record && fresh) {
      const token = app.auth.newToken(collection, record, "passwordReset", { email: String(record.email) });
      sendRecordEmail(
        app,
        collection,
        record,
        String(record.email),
        collection.resetPasswordTemplate,
        { TOKEN: token },
        "password reset",
      );
    }
    return reply.status(204).send();
  });

  server.post<Params>("/api/collections/:collection/confirm-password-reset", async (request, reply) => {
    const collection = authCollectionOr404(app, request.params.collection);
    const { token, password, passwordConfirm } = bodyObject(request);
    const errors: ErrorData = {};
    let auth = null;
    if (typeof token !== "string" || token === "")
      errors.token = fieldError("validation_required", "Cannot be blank.");
    else {
      auth = await app.auth.verify(token, "passwordReset");
      if (!auth) errors.token = fieldError("validation_invalid_token", "Invalid or expired token.");
      else if (auth.collection.id !== collection.id) {
        errors.token = fieldError(
          "validation_token_collection_mismatch",
          "The provided token is for different auth collection.",
        );
      }
    }
    const field = findField(collection, "password");
    const min = Math.max(1, Number(field?.min) || 0);
    const max = Number(field?.max) || 71;
    if (typeof password !== "string" || password === "")
      errors.password = fieldError("validation_required", "Cannot be blank.");
    else if (password.length < min) {
      errors.password = fieldError(
        "validation_length_out_of_range",
        `The length must be between ${min} and ${max}.`,
        { min, max },
      );
    } else if (password.length > max) {
      errors.password = fieldError(
        "validation_length_out_of_range",
        `The length must be between ${min} and ${max}.`,
        { min, max },
      );
    } else if (field?.pattern && !new RegExp(String(field.pattern)).test(password)) {
      errors.password = fieldError("validation_invalid_format", "Invalid value format.");
    }
    if (typeof passwordConfirm !== "string" || passwordConfirm === "") {
      errors.passwordConfirm = fieldError("validation_required", "Cannot be blank.");
    } else if (passwordConfirm !== password) {
      errors.passwordConfirm = fieldError("validation_values_mismatch", "Values don't match.");
    }
    throwIfInvalid(errors);
    const record = auth!.record;
    const stillSameEmail = String(record.email) === auth!.claims.email;
    if (stillSameEmail && !record.verified) {
      await verifyAccount(app, collection, record, { verified: true, password: password as string });
    } else {
      const newPasswordHash = await hashPassword(password as string);
      await app.records.systemUpdate(collection, record, (q) =>
        updateAuthRecord(q, collection, record, { newPasswordHash }),
      );
    }
    return reply.status(204).send();
  });
}
