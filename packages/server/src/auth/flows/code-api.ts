import type { App } from "../../core/app.js";
import { findRow } from "../../core/records/index.js";
import { notFound } from "../../errors/index.js";
import type { RequestAuth } from "../auth-service.js";
import { type AuthAnswer, codeCaller } from "./answer.js";
import { confirmEmailChange, requestEmailChange } from "./email-change.js";
import { authCollectionOr404 } from "./form.js";
import { signInWithOAuth2 } from "./oauth2.js";
import { requestOtp, signInWithOtp } from "./otp.js";
import { confirmPasswordReset, requestPasswordReset, signInWithPassword } from "./password.js";
import { impersonate } from "./session.js";
import { confirmVerification, requestVerification } from "./verification.js";

/** A completed sign-in: PocketBase's `{token, record, meta?}` (the record as its owner sees it). */
export interface AuthResult {
  readonly token: string;
  readonly record: Record<string, unknown>;
  readonly meta?: Record<string, unknown>;
}

/** A sign-in that needs its second factor: sign in again with another method and this `mfaId`. */
export interface MfaRequired {
  readonly mfaId: string;
}

/** Options of a sign-in started from code. */
export interface SignInOptions {
  /** The MFA id a first factor answered, to complete MFA with a second method. */
  readonly mfaId?: string;
  /** Relations to expand in the returned record. */
  readonly expand?: string;
  /**
   * The end client's address when code signs in on a client's behalf (a custom route passes `e.request.ip`):
   * checked against `superuserIPs` and keying the attempt guards. Omitted: the application's own, trusted call.
   */
  readonly ip?: string;
  /** The signed-in caller, for OAuth2 linking a provider account to the caller's own record. */
  readonly auth?: RequestAuth | null;
}

/**
 * The auth flows for the application's code (`app.auth` in hooks and the library): the same services the
 * REST and GraphQL routes call, with the same validation, rate-limit guards, e-mails, MFA, auth rule, model
 * hooks and `onRecordAuthRequest`. Collections are named by name or id; errors are PocketBase's ApiErrors.
 * HTTP request hooks (`onRecord…Request`) belong to the routes and do not fire for calls from code.
 */
export interface AuthFlowsApi {
  signInWithPassword(
    collection: string,
    identity: string,
    password: string,
    options?: SignInOptions & { identityField?: string },
  ): Promise<AuthResult | MfaRequired>;
  requestOTP(collection: string, email: string): Promise<{ otpId: string }>;
  signInWithOTP(
    collection: string,
    otpId: string,
    password: string,
    options?: SignInOptions,
  ): Promise<AuthResult | MfaRequired>;
  signInWithOAuth2(
    collection: string,
    input: {
      provider: string;
      code: string;
      redirectURL: string;
      codeVerifier?: string;
      createData?: Record<string, unknown>;
    },
    options?: SignInOptions,
  ): Promise<AuthResult | MfaRequired>;
  requestVerification(collection: string, email: string): Promise<void>;
  confirmVerification(collection: string, token: string): Promise<void>;
  requestPasswordReset(collection: string, email: string): Promise<void>;
  /** `passwordConfirm` defaults to `password`. */
  confirmPasswordReset(
    collection: string,
    token: string,
    password: string,
    passwordConfirm?: string,
  ): Promise<void>;
  /** The record `recordId` of `collection` asks to move to `newEmail` (a token is mailed there). */
  requestEmailChange(collection: string, recordId: string, newEmail: string): Promise<void>;
  confirmEmailChange(collection: string, token: string, password: string): Promise<void>;
  /** A non-refreshable auth token for any record (no rules checked but the collection's auth rule). */
  impersonate(collection: string, recordId: string, durationSeconds?: number): Promise<AuthResult>;
}

/** What a flow answered, as code receives it. */
function resultOf(answer: AuthAnswer): AuthResult | MfaRequired {
  if (answer.status === 401 && typeof answer.body.mfaId === "string") return { mfaId: answer.body.mfaId };
  return answer.body as unknown as AuthResult;
}

function callerOf(options: SignInOptions = {}) {
  const base = codeCaller(options);
  return options.auth ? { ...base, request: { ...base.request, auth: options.auth } } : base;
}

/** {@link AuthFlowsApi} over an app. */
export function authFlowsApi(app: App): AuthFlowsApi {
  const col = (nameOrId: string) => authCollectionOr404(app, nameOrId);
  return {
    signInWithPassword: async (c, identity, password, options) =>
      resultOf(
        await signInWithPassword(app, callerOf(options), col(c), {
          identity,
          password,
          identityField: options?.identityField,
        }),
      ),
    requestOTP: (c, email) => requestOtp(app, col(c), email),
    signInWithOTP: async (c, otpId, password, options) =>
      resultOf(await signInWithOtp(app, callerOf(options), col(c), { otpId, password })),
    signInWithOAuth2: async (c, input, options) =>
      resultOf(await signInWithOAuth2(app, callerOf(options), col(c), { ...input })),
    requestVerification: (c, email) => requestVerification(app, col(c), email),
    confirmVerification: (c, token) => confirmVerification(app, col(c), token),
    requestPasswordReset: (c, email) => requestPasswordReset(app, col(c), email),
    confirmPasswordReset: (c, token, password, passwordConfirm) =>
      confirmPasswordReset(app, col(c), { token, password, passwordConfirm: passwordConfirm ?? password }),
    requestEmailChange: async (c, recordId, newEmail) => {
      const collection = col(c);
      const record = await findRow(app.db, collection, recordId);
      if (!record) throw notFound();
      return requestEmailChange(app, collection, { collection, record }, newEmail);
    },
    confirmEmailChange: (c, token, password) => confirmEmailChange(app, col(c), { token, password }),
    impersonate: async (c, recordId, durationSeconds) =>
      resultOf(await impersonate(app, codeCaller(), col(c), recordId, durationSeconds ?? 0)) as AuthResult,
  };
}
