import type { FastifyInstance } from "fastify";
import { burnPasswordCheck, randomPassword } from "../auth/index.js";
import type { App } from "../core/app.js";
import { findRow } from "../core/records/index.js";
import { badRequest, type ErrorData, forbidden } from "../errors/index.js";
import { bodyObject } from "./guards.js";
import { clientIp } from "./rate-limit.js";
import {
  authCollectionOr404,
  enforceLimit,
  readEmailRequest,
  requiredText,
  sendRecordEmail,
  throwIfInvalid,
} from "./records-auth-helpers.js";
import { verifyAccount } from "./records-auth-oauth2-link.js";
import { sendAuthResponse } from "./records-auth-response.js";

type Params = { Params: { collection: string } };

const OTP_DISABLED = "The collection is not configured to allow OTP authentication.";
const INVALID_OTP = "Invalid or expired OTP";

/**
 * `POST …/request-otp` (mails a one-time code; answers an `otpId` whether or not the e-mail is known) and
 * `POST …/auth-with-otp` (`{otpId, password}`). Codes are single use, expire after `otp.duration`, and allow
 * five attempts per account in three minutes; a successful sign-in marks the e-mail verified.
 */
export function registerAuthOtp(server: FastifyInstance, app: App): void {
  server.post<Params>("/api/collections/:collection/request-otp", async (request) => {
    const collection = authCollectionOr404(app, request.params.collection);
    if (!collection.otp.enabled) throw forbidden(OTP_DISABLED);
    const { record } = await readEmailRequest(app, request, collection);
    // An unknown address gets a well-formed id that matches nothing, after the same hashing (no account
    // enumeration, by answer or by timing).
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
  });

  server.post<Params>("/api/collections/:collection/auth-with-otp", async (request, reply) => {
    const collection = authCollectionOr404(app, request.params.collection);
    if (!collection.otp.enabled) throw forbidden(OTP_DISABLED);
    const { otpId, password } = bodyObject(request);
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
    // Codes are short digit strings: PocketBase's fixed budget per account and client IP.
    await enforceLimit(
      app,
      reply,
      "otpAttempts",
      `${collection.id}:${String(record.id)}:${clientIp(app, request)}`,
      {
        message: "Too many attempts, please try again later with a new OTP.",
      },
    );
    if (!(await app.auth.otp.matches(otp, password as string))) throw badRequest(INVALID_OTP);
    // Single use: deleting it is the claim; a concurrent request that lost the race is refused.
    if (!(await app.auth.otp.consume(String(otp.id)))) throw badRequest(INVALID_OTP);
    let signedIn = record;
    if (!record.verified && otp.sentTo && String(otp.sentTo) === String(record.email)) {
      // As PocketBase: with MFA off the code alone proves the mailbox, so a password set before the address
      // was proven (a pre-registration by someone else) is retired, which also revokes older tokens.
      const password = collection.mfa.enabled ? undefined : randomPassword();
      signedIn = await verifyAccount(app, collection, record, { verified: true, password });
    }
    return sendAuthResponse(app, request, reply, collection, signedIn, { method: "otp" });
  });
}
