import type { FastifyInstance } from "fastify";
import { decodeToken, type RequestAuth, updateAuthRecord, verifyPassword } from "../auth/index.js";
import type { App } from "../core/app.js";
import type { AuthCollection } from "../core/collections/index.js";
import {
  badRequest,
  type ErrorData,
  type FieldError,
  fieldError,
  forbidden,
  unauthorized,
} from "../errors/index.js";
import { bodyObject } from "./guards.js";
import {
  authCollectionOr404,
  requiredEmail,
  sendRecordEmail,
  throwIfInvalid,
} from "./records-auth-helpers.js";

type Params = { Params: { collection: string } };

/** Checks an e-mail change token for a collection: the record and new address, or the token's field error. */
async function checkToken(
  app: App,
  collection: AuthCollection,
  token: unknown,
): Promise<{ auth: RequestAuth; newEmail: string } | FieldError> {
  if (typeof token !== "string" || token === "") return fieldError("validation_required", "Cannot be blank.");
  const newEmail = String(decodeToken(token)?.newEmail ?? "");
  if (!newEmail) {
    return fieldError("validation_invalid_token_payload", "Invalid token payload - newEmail must be set.");
  }
  const auth = await app.auth.verify(token, "emailChange");
  if (!auth) return fieldError("validation_invalid_token", "Invalid or expired token.");
  if (auth.collection.id !== collection.id) {
    return fieldError(
      "validation_token_collection_mismatch",
      "The provided token is for different auth collection.",
    );
  }
  if (await app.auth.findByEmail(collection, newEmail)) {
    return fieldError("validation_invalid_token_email", "The new email address is invalid.");
  }
  return { auth, newEmail };
}

const SUPERUSERS_DIRECT = "All superusers can change their emails directly.";

/**
 * `POST …/request-email-change` (the signed-in record asks; an `emailChange` token goes to the new address)
 * and `POST …/confirm-email-change` (token plus current password). The change rotates the token key, so the
 * token is single use and old sessions end.
 */
export function registerAuthEmailChange(server: FastifyInstance, app: App): void {
  server.post<Params>("/api/collections/:collection/request-email-change", async (request, reply) => {
    const auth = request.auth;
    if (!auth) throw unauthorized("The request requires valid record authorization token.");
    const collection = authCollectionOr404(app, request.params.collection);
    if (auth.collection.id !== collection.id) {
      throw forbidden(`The request requires auth record from ${auth.collection.name} collection.`);
    }
    if (collection.name === "_superusers") throw badRequest(SUPERUSERS_DIRECT);
    const newEmail = bodyObject(request).newEmail;
    let err = requiredEmail(newEmail);
    if (!err && String(newEmail).toLowerCase() === String(auth.record.email).toLowerCase()) {
      err = fieldError("validation_not_in_invalid", "Must not be in list.");
    }
    throwIfInvalid(err ? { newEmail: err } : {});
    // A taken address answers like a free one (no account enumeration) and gets no mail; so does a repeat
    // of the same change within PocketBase's two-minute resend window.
    const taken = await app.auth.findByEmail(collection, newEmail as string);
    const resend = `emailChange:${collection.id}:${String(auth.record.id)}:${String(newEmail).toLowerCase()}`;
    if ((taken && taken.id !== auth.record.id) || (await app.limiter.consume("emailResend", resend)) > 0) {
      return reply.status(204).send();
    }
    const token = app.auth.newToken(collection, auth.record, "emailChange", {
      email: String(auth.record.email),
      newEmail: newEmail as string,
    });
    sendRecordEmail(
      app,
      collection,
      auth.record,
      newEmail as string,
      collection.confirmEmailChangeTemplate,
      { TOKEN: token },
      "email change",
    );
    return reply.status(204).send();
  });

  server.post<Params>("/api/collections/:collection/confirm-email-change", async (request, reply) => {
    const collection = authCollectionOr404(app, request.params.collection);
    if (collection.name === "_superusers") throw badRequest(SUPERUSERS_DIRECT);
    const { token, password } = bodyObject(request);
    const errors: ErrorData = {};
    const checked = await checkToken(app, collection, token);
    if ("code" in checked) errors.token = checked;
    const auth = "code" in checked ? null : checked.auth;
    const newEmail = "code" in checked ? "" : checked.newEmail;
    if (typeof password !== "string" || password === "")
      errors.password = fieldError("validation_required", "Cannot be blank.");
    else if (!auth || !(await verifyPassword(password, String(auth.record.password ?? "")))) {
      errors.password = fieldError("validation_invalid_password", "Missing or invalid auth record password.");
    }
    throwIfInvalid(errors);
    const record = (auth as RequestAuth).record;
    await app.records.systemUpdate(collection, record, (q) =>
      updateAuthRecord(q, collection, record, { email: newEmail, verified: true }),
    );
    return reply.status(204).send();
  });
}
