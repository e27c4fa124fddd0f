import type { App } from "../../core/app.js";
import { type AuthCollection, findField } from "../../core/collections/index.js";
import { fieldPattern } from "../../core/records/field-values/value-kit.js";
import { badRequest, type ErrorData, fieldError, forbidden } from "../../errors/index.js";
import { updateAuthRecord } from "../auth-record-writes.js";
import { hashPassword } from "../passwords.js";
import { type AuthAnswer, type AuthCaller, authAnswer } from "./answer.js";
import { findEmailAccount } from "./email-request.js";
import { requiredText, throwIfInvalid } from "./form.js";
import { verifyAccount } from "./links.js";
import { sendRecordEmail } from "./record-email.js";

const PASSWORD_DISABLED = "The collection is not configured to allow password authentication.";

/** The password sign-in input, as the REST body carries it. */
export interface PasswordSignInInput {
  readonly identity?: unknown;
  readonly password?: unknown;
  readonly identityField?: unknown;
}

/**
 * Signs in with an identity (any of the collection's identity fields, or the one `identityField` names) and a
 * password. An unknown identity and a wrong password take the same time and get the same 400.
 */
export async function signInWithPassword(
  app: App,
  caller: AuthCaller,
  collection: AuthCollection,
  input: PasswordSignInInput,
): Promise<AuthAnswer> {
  if (!collection.passwordAuth.enabled) throw forbidden(PASSWORD_DISABLED);
  const { identity, password, identityField } = input;
  const errors: ErrorData = {};
  const identityErr = requiredText(identity);
  if (identityErr) errors.identity = identityErr;
  const passwordErr = requiredText(password);
  if (passwordErr) errors.password = passwordErr;
  if (
    identityField !== undefined &&
    identityField !== "" &&
    (typeof identityField !== "string" || !collection.passwordAuth.identityFields.includes(identityField))
  ) {
    errors.identityField = fieldError("validation_in_invalid", "Must be a valid value.");
  }
  throwIfInvalid(errors);
  const record = await app.auth.checkPassword(
    collection,
    identity as string,
    password as string,
    (identityField as string) || undefined,
  );
  if (!record) throw badRequest("Failed to authenticate.");
  return authAnswer(app, caller, collection, record, { method: "password" });
}

/**
 * Mails a `passwordReset` token when the account exists; the caller always answers the same (no account
 * enumeration), and a repeat for the same address within PocketBase's resend window sends nothing.
 */
export async function requestPasswordReset(
  app: App,
  collection: AuthCollection,
  email: unknown,
): Promise<void> {
  if (!collection.passwordAuth.enabled) throw badRequest(PASSWORD_DISABLED);
  const found = await findEmailAccount(app, collection, email);
  // The resend guard is keyed and consumed by address, known or not, so both take the same steps (issue 10).
  const fresh =
    (await app.limiter.consume("emailResend", `passwordReset:${collection.id}:${found.email}`)) === 0;
  const record = found.record;
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
}

/** The confirm-password-reset input, as the REST body carries it. */
export interface PasswordResetInput {
  readonly token?: unknown;
  readonly password?: unknown;
  readonly passwordConfirm?: unknown;
}

/**
 * Sets the new password of the reset token's record, which rotates the token key, so the reset token (and
 * every session) stops working; it also marks the account verified when the token's e-mail is still the
 * account's.
 */
export async function confirmPasswordReset(
  app: App,
  collection: AuthCollection,
  input: PasswordResetInput,
): Promise<void> {
  const { token, password, passwordConfirm } = input;
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
  else if (password.length < min || password.length > max) {
    errors.password = fieldError(
      "validation_length_out_of_range",
      `The length must be between ${min} and ${max}.`,
      { min, max },
    );
  } else if (field?.pattern && !fieldPattern(String(field.pattern))?.test(password)) {
    // RE2 semantics and linear time, as for every field pattern (a backtracking pattern cannot stall us)
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
}
