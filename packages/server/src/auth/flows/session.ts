import type { App } from "../../core/app.js";
import type { AuthCollection } from "../../core/collections/index.js";
import { findRow } from "../../core/records/index.js";
import { fieldError, forbidden, notFound, unauthorized } from "../../errors/index.js";
import type { RequestAuth } from "../auth-service.js";
import { type AuthAnswer, type AuthCaller, authAnswer } from "./answer.js";
import { throwIfInvalid } from "./form.js";

/**
 * A new token for the caller (`caller.request.auth`), with its record re-read and the auth rule re-checked;
 * a non-refreshable (impersonation) token — `currentToken` — gets itself back.
 */
export async function refreshAuth(
  app: App,
  caller: AuthCaller,
  collection: AuthCollection,
  currentToken: string | undefined,
): Promise<AuthAnswer> {
  const auth: RequestAuth | null = caller.request.auth;
  if (!auth) throw unauthorized("The request requires valid record authorization token.");
  // a key is not a session: it is never exchanged for a token (issue 18)
  if (auth.apiKey) throw forbidden("An API key cannot be refreshed into an auth token.");
  if (auth.collection.id !== collection.id) {
    throw forbidden(`The request requires auth record from ${auth.collection.name} collection.`);
  }
  const token = auth.claims.refreshable === false ? (currentToken ?? "") : undefined;
  return authAnswer(app, caller, auth.collection, auth.record, { method: "", token });
}

/**
 * A static, non-refreshable auth token for any record of an auth collection, lasting `duration` seconds (the
 * collection's auth token duration when 0). Whoever calls it must already be allowed to (superusers only).
 */
export async function impersonate(
  app: App,
  caller: AuthCaller,
  collection: AuthCollection,
  recordId: string,
  duration: unknown = 0,
): Promise<AuthAnswer> {
  const record = await findRow(app.db, collection, recordId);
  if (!record) throw notFound();
  const valid = typeof duration === "number" && Number.isInteger(duration) && duration >= 0;
  throwIfInvalid(
    valid
      ? {}
      : {
          duration: fieldError("validation_min_greater_equal_than_required", "Must be no less than 0.", {
            threshold: 0,
          }),
        },
  );
  const seconds = (duration as number) || collection.authToken.duration;
  const token = app.auth.newToken(collection, record, "auth", { refreshable: false }, seconds);
  return authAnswer(app, caller, collection, record, { method: "", token });
}
