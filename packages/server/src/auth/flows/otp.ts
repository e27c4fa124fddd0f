import type { App } from "../../core/app.js";
import type { AuthCollection } from "../../core/collections/index.js";
import { findRow } from "../../core/records/index.js";
import { badRequest, type ErrorData, forbidden, tooManyRequests } from "../../errors/index.js";
import { randomPassword } from "../auth-record-writes.js";
import { burnPasswordCheck } from "../passwords.js";
import { type AuthAnswer, type AuthCaller, authAnswer } from "./answer.js";
import { findEmailAccount } from "./email-request.js";
import { requiredText, throwIfInvalid } from "./form.js";
import { verifyAccount } from "./links.js";
import { sendRecordEmail } from "./record-email.js";

const OTP_DISABLED = "The collection is not configured to allow OTP authentication.";
const INVALID_OTP = "Invalid or expired OTP";

/**
 * Mails a one-time code and answers its `otpId`, whether or not the e-mail is known: an unknown address gets
 * a well-formed id that matches nothing, after the same hashing (no account enumeration, by answer or timing).
 */
export async function requestOtp(
  app: App,
  collection: AuthCollection,
  email: unknown,
): Promise<{ otpId: string }> {
  if (!collection.otp.enabled) throw forbidden(OTP_DISABLED);
  const { record } = await findEmailAccount(app, collection, email);
  const otp = await app.auth.otp.issue(collection, record, String(record?.email ?? ""));
  if (record && otp.password !== null) {
    sendRecordEmail(
      app,
      collection,
      record,
      String(record.email),
      collection.otp.emailTemplate,
      { OTP: otp.password, OTP_ID: otp.id },
      "otp",
    );
  }
  return { otpId: otp.id };
}

/**
 * Signs in with `{otpId, password}`. Codes are single use, expire after `otp.duration`, and allow five
 * attempts per account and client address in three minutes; a successful sign-in marks the e-mail verified.
 */
export async function signInWithOtp(
  app: App,
  caller: AuthCaller,
  collection: AuthCollection,
  input: { readonly otpId?: unknown; readonly password?: unknown },
): Promise<AuthAnswer> {
  if (!collection.otp.enabled) throw forbidden(OTP_DISABLED);
  const { otpId, password } = input;
  const errors: ErrorData = {};
  const idErr = requiredText(otpId);
  if (idErr) errors.otpId = idErr;
  const passErr = requiredText(password, 71);
  if (passErr) errors.password = passErr;
  throwIfInvalid(errors);
  const otp = await app.auth.otp.find(collection, otpId as string);
  const record = otp ? await findRow(app.db, collection, String(otp.recordRef)) : undefined;
  if (!otp || !record) {
    await burnPasswordCheck(password as string);
    throw badRequest(INVALID_OTP);
  }
  // Codes are short digit strings: PocketBase's fixed budget per account and client address.
  const wait = await app.limiter.consume(
    "otpAttempts",
    `${collection.id}:${String(record.id)}:${caller.ip ?? "code"}`,
  );
  if (wait > 0) throw tooManyRequests("Too many attempts, please try again later with a new OTP.", wait);
  if (!(await app.auth.otp.matches(otp, password as string))) throw badRequest(INVALID_OTP);
  // Single use: deleting it is the claim; a concurrent request that lost the race is refused.
  if (!(await app.auth.otp.consume(String(otp.id)))) throw badRequest(INVALID_OTP);
  let signedIn = record;
  if (!record.verified && otp.sentTo && String(otp.sentTo) === String(record.email)) {
    // As PocketBase: with MFA off the code alone proves the mailbox, so a password set before the address
    // was proven (a pre-registration by someone else) is retired, which also revokes older tokens.
    const retired = collection.mfa.enabled ? undefined : randomPassword();
    signedIn = await verifyAccount(app, collection, record, { verified: true, password: retired });
  }
  return authAnswer(app, caller, collection, signedIn, { method: "otp" });
}
