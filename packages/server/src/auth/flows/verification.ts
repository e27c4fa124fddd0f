import type { App } from "../../core/app.js";
import type { AuthCollection } from "../../core/collections/index.js";
import { badRequest, type ErrorData, fieldError } from "../../errors/index.js";
import { randomPassword } from "../auth-record-writes.js";
import { decodeToken } from "../tokens.js";
import { findEmailAccount } from "./email-request.js";
import { throwIfInvalid } from "./form.js";
import { verifyAccount } from "./links.js";
import { sendRecordEmail } from "./record-email.js";

/**
 * Mails a `verification` token to an unverified account, at most once per address per PocketBase's resend
 * window; the caller always answers the same (no account enumeration).
 */
export async function requestVerification(
  app: App,
  collection: AuthCollection,
  email: unknown,
): Promise<void> {
  const found = await findEmailAccount(app, collection, email);
  // PocketBase's resend guard: one message per address per two minutes, silently; consumed for unknown and
  // verified accounts too, so every answer takes the same steps (issue 10).
  const fresh =
    (await app.limiter.consume("emailResend", `verification:${collection.id}:${found.email}`)) === 0;
  const record = found.record;
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
}

/** Marks the verification token's account verified (idempotent: a used token changes nothing more). */
export async function confirmVerification(
  app: App,
  collection: AuthCollection,
  token: unknown,
): Promise<void> {
  if (collection.name === "_superusers") throw badRequest("All superusers are verified by default.");
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
}
