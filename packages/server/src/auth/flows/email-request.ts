import type { App } from "../../core/app.js";
import type { AuthCollection } from "../../core/collections/index.js";
import type { RecordRow } from "../../core/records/index.js";
import { requiredEmail, throwIfInvalid } from "./form.js";

/**
 * The shared start of every `request-*` flow that takes an e-mail: checks `email` (400 `{email}` otherwise)
 * and finds the account, which may not exist (the caller must answer the same either way).
 */
export async function findEmailAccount(
  app: App,
  collection: AuthCollection,
  email: unknown,
): Promise<{ record: RecordRow | undefined; email: string }> {
  const err = requiredEmail(email);
  throwIfInvalid(err ? { email: err } : {});
  const record = await app.auth.findByEmail(collection, email as string);
  return { record: record ?? undefined, email: (email as string).toLowerCase() };
}
