import type { FastifyReply, FastifyRequest } from "fastify";
import type { FixedGuard } from "../auth/index.js";
import type { App } from "../core/app.js";
import { type AuthCollection, isAuthCollection } from "../core/collections/index.js";
import { isEmailFormat, type RecordRequest, type RecordRow } from "../core/records/index.js";
import {
  badRequest,
  type ErrorData,
  type FieldError,
  fieldError,
  notFound,
  tooManyRequests,
} from "../errors/index.js";
import type { EmailTemplateText, TemplateValues } from "../mail/index.js";
import { flatQuery } from "./records-action.js";

/** PocketBase's message for a form that failed validation. */
export const INVALID_DATA = "An error occurred while validating the submitted data.";

/** Finds an auth collection by id or name for an auth route, or a 404 in PocketBase's words. */
export function authCollectionOr404(app: App, idOrName: string): AuthCollection {
  const c = app.collections.find(idOrName);
  if (!c || !isAuthCollection(c)) throw notFound("Missing or invalid auth collection context.");
  return c;
}

/** Throws PocketBase's 400 with the field errors, when there are any. */
export function throwIfInvalid(errors: ErrorData, message = INVALID_DATA): void {
  if (Object.keys(errors).length) throw badRequest(message, errors);
}

/** The field error of a required text value no longer than `max`, or null when it is fine. */
export function requiredText(value: unknown, max = 255): FieldError | null {
  if (typeof value !== "string" || value === "") return fieldError("validation_required", "Cannot be blank.");
  if (value.length > max) {
    return fieldError("validation_length_too_long", `The length must be no more than ${max}.`, { max });
  }
  return null;
}

/** The field error of a required e-mail address, or null when it is fine. */
export function requiredEmail(value: unknown): FieldError | null {
  const err = requiredText(value);
  if (err) return err;
  return isEmailFormat(value as string)
    ? null
    : fieldError("validation_is_email", "Must be a valid email address.");
}

/**
 * Counts an attempt against one of PocketBase's fixed guards and throws its 429 (with `Retry-After`) when the
 * key is over it.
 */
export async function enforceLimit(
  app: App,
  reply: FastifyReply,
  guard: FixedGuard,
  key: string,
  opts: { message?: string } = {},
): Promise<void> {
  const wait = await app.limiter.consume(guard, key);
  if (wait > 0) {
    reply.header("retry-after", String(wait));
    throw tooManyRequests(opts.message);
  }
}

/**
 * The shared start of every `request-*` route that takes an e-mail: checks the body's `email` and finds the
 * account, which may not exist (the caller must answer the same either way). Only the settings' rate-limit
 * rules limit these routes; repeated e-mails are suppressed by the caller's resend guard.
 */
export async function readEmailRequest(
  app: App,
  request: FastifyRequest,
  collection: AuthCollection,
): Promise<{ record: RecordRow | undefined; email: string }> {
  const email = (request.body as Record<string, unknown> | null)?.email;
  const err = requiredEmail(email);
  throwIfInvalid(err ? { email: err } : {});
  const record = await app.auth.findByEmail(collection, email as string);
  return { record: record ?? undefined, email: (email as string).toLowerCase() };
}

/** The records-service view of an HTTP request (auth, headers, query), in a rule context. */
export function recordRequestOf(
  request: FastifyRequest,
  context = "default",
  body?: Record<string, unknown>,
): RecordRequest {
  return {
    auth: request.auth,
    headers: request.headers,
    method: request.method,
    query: flatQuery(request.query),
    context,
    ...(body ? { body } : {}),
  };
}

/** Queues one of a collection's e-mails to an address, with the record's fields as `{RECORD:name}` values. */
export function sendRecordEmail(
  app: App,
  collection: AuthCollection,
  record: RecordRow,
  to: string,
  template: EmailTemplateText,
  values: TemplateValues,
  what: string,
): void {
  const recordValues: Record<string, string> = {};
  for (const f of collection.fields) {
    if (f.type === "password" || f.name === "tokenKey" || f.hidden) continue;
    const v = record[f.name];
    if (typeof v === "string" || typeof v === "number") recordValues[`RECORD:${f.name}`] = String(v);
  }
  const hook =
    what === "verification"
      ? app.hooks.onMailerRecordVerificationSend
      : what === "password reset"
        ? app.hooks.onMailerRecordPasswordResetSend
        : what === "email change"
          ? app.hooks.onMailerRecordEmailChangeSend
          : what === "otp"
            ? app.hooks.onMailerRecordOTPSend
            : app.hooks.onMailerRecordAuthAlertSend;
  app.mail.send({ address: to }, template, { ...recordValues, ...values }, what, {
    hook,
    collection,
    record,
  });
}
