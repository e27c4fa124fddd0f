import type { RequestAuth } from "../auth/index.js";
import type { App } from "../core/app.js";
import type { AuthCollection } from "../core/collections/index.js";
import { type RecordRow, serializeRecord } from "../core/records/index.js";

/**
 * The `{token, record}` answer of every sign-in route. The record is the caller's own, so its e-mail is shown;
 * a superuser also sees hidden fields. Secrets (password hash, token key) are never included.
 */
export function authResponse(
  app: App,
  collection: AuthCollection,
  record: RecordRow,
  token?: string,
  meta?: Record<string, unknown>,
): Record<string, unknown> {
  const isSuperuser = collection.name === "_superusers";
  const out: Record<string, unknown> = {
    token: token ?? app.auth.newToken(collection, record, "auth"),
    record: serializeRecord(collection, record, { showEmail: true, showHidden: isSuperuser }),
  };
  if (meta) out.meta = meta;
  return out;
}

/** The auth response for an already verified caller (refresh). */
export function refreshResponse(app: App, auth: RequestAuth, token: string): Record<string, unknown> {
  return authResponse(app, auth.collection, auth.record, token);
}
