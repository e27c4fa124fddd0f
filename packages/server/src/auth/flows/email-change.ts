import type { App } from "../../core/app.js";
import type { AuthCollection } from "../../core/collections/index.js";
import type { RecordRow } from "../../core/records/index.js";
import { badRequest, type ErrorData, type FieldError, fieldError, forbidden } from "../../errors/index.js";
import { updateAuthRecord } from "../auth-record-writes.js";
import type { RequestAuth } from "../auth-service.js";
import { verifyPassword } from "../passwords.js";
import { decodeToken } from "../tokens.js";
import { requiredEmail, throwIfInvalid } from "./form.js";
import { sendRecordEmail } from "./record-email.js";

const SUPERUSERS_DIRECT = "All superusers can change their emails directly.";

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

/**
 * The record (of `collection`) asks to move to `newEmail`: an `emailChange` token goes to the new address. A
 * taken address answers like a free one (no account enumeration) and gets no mail; so does a repeat of the
 * same change within PocketBase's two-minute resend window.
 */
export async function requestEmailChange(
  app: App,
  collection: AuthCollection,
  owner: { collection: AuthCollection; record: RecordRow },
  newEmail: unknown,
): Promise<void> {
  if (owner.collection.id !== collection.id) {
    throw forbidden(`The request requires auth record from ${owner.collection.name} collection.`);
  }
  if (collection.name === "_superusers") throw badRequest(SUPERUSERS_DIRECT);
  const record = owner.record;
  let err = requiredEmail(newEmail);
  if (!err && String(newEmail).toLowerCase() === String(record.email).toLowerCase()) {
    err = fieldError("validation_not_in_invalid", "Must not be in list.");
  }
  throwIfInvalid(err ? { newEmail: err } : {});
  const taken = await app.auth.findByEmail(collection, newEmail as string);
  const resend = `emailChange:${collection.id}:${String(record.id)}:${String(newEmail).toLowerCase()}`;
  if ((taken && taken.id !== record.id) || (await app.limiter.consume("emailResend", resend)) > 0) return;
  const token = app.auth.newToken(collection, record, "emailChange", {
    email: String(record.email),
    newEmail: newEmail as string,
  });
  sendRecordEmail(
    app,
    collection,
    record,
    newEmail as string,
    collection.confirmEmailChangeTemplate,
    { TOKEN: token },
    "email change",
  );
}

/**
 * Completes an e-mail change with its token and the record's current password. The change rotates the token
 * key, so the token is single use and old sessions end.
 */
export async function confirmEmailChange(
  app: App,
  collection: AuthCollection,
  input: { readonly token?: unknown; readonly password?: unknown },
): Promise<void> {
  if (collection.name === "_superusers") throw badRequest(SUPERUSERS_DIRECT);
  const { token, password } = input;
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
}
