import type { Logger } from "pino";
import type { App } from "../../core/app.js";
import type { AuthCollection } from "../../core/collections/index.js";
import { DEFAULT_FILE_MAX_SIZE, findRow, type RecordRow } from "../../core/records/index.js";
import { ApiError, badRequest, type ErrorData, fieldError, forbidden } from "../../errors/index.js";
import { baseMime, UploadedFile } from "../../files/index.js";
import { isPlainObject } from "../../util/index.js";
import { safeGetBytes } from "../../webhooks/index.js";
import { randomPassword, updateAuthRecord } from "../auth-record-writes.js";
import { exchangeCode, fetchOAuth2User, type OAuth2User, resolveProvider } from "../oauth2/index.js";
import { hashPassword } from "../passwords.js";
import { type AuthAnswer, type AuthCaller, authAnswer } from "./answer.js";
import { throwIfInvalid } from "./form.js";
import { findLinkedRecord, linkExternalAuth, unlinkExternalAuths } from "./links.js";

const LOAD_FAILED = "An error occurred while loading the submitted data.";

function validate(collection: AuthCollection, body: Record<string, unknown>) {
  const { provider, code } = body;
  const redirectURL = body.redirectURL || body.redirectUrl;
  const errors: ErrorData = {};
  if (typeof provider !== "string" || provider === "")
    errors.provider = fieldError("validation_required", "Cannot be blank.");
  else if (provider.length > 100 || !collection.oauth2.providers.some((p) => p.name === provider)) {
    errors.provider = fieldError(
      "validation_invalid_provider",
      `Provider with name ${provider.slice(0, 100)} is missing or is not enabled.`,
      { name: provider.slice(0, 100) },
    );
  }
  if (typeof code !== "string" || code === "")
    errors.code = fieldError("validation_required", "Cannot be blank.");
  if (typeof redirectURL !== "string" || redirectURL === "")
    errors.redirectURL = fieldError("validation_required", "Cannot be blank.");
  if (body.createData !== undefined && body.createData !== null && !isPlainObject(body.createData)) {
    errors.createData = fieldError("validation_invalid_value", "Invalid value.");
  }
  throwIfInvalid(errors, LOAD_FAILED);
  return {
    provider: provider as string,
    code: code as string,
    redirectURL: redirectURL as string,
    codeVerifier: typeof body.codeVerifier === "string" ? body.codeVerifier : "",
    createData: (body.createData ?? {}) as Record<string, unknown>,
  };
}

/** The create body of a new OAuth2 account: createData, then the provider's e-mail and mapped fields. */
function signUpBody(collection: AuthCollection, user: OAuth2User, createData: Record<string, unknown>) {
  const body: Record<string, unknown> = { ...createData };
  if (typeof body.email !== "string" || body.email === "") body.email = user.email;
  const mapped = collection.oauth2.mappedFields;
  const fieldOf = (name: string) => collection.fields.find((f) => f.name === name);
  for (const [key, value] of [
    ["id", user.id],
    ["name", user.name],
    ["username", user.username],
  ] as const) {
    const target = mapped[key];
    if (target && !(target in body) && fieldOf(target)) body[target] = value;
  }
  // a text field gets the URL; a file field gets the picture itself (see withAvatar)
  const avatarField = mapped.avatarURL ? fieldOf(mapped.avatarURL) : undefined;
  if (avatarField && avatarField.type !== "file" && user.avatarURL && !(avatarField.name in body)) {
    body[avatarField.name] = user.avatarURL;
  }
  if (!body.password) {
    const password = randomPassword();
    body.password = password;
    body.passwordConfirm = password;
  }
  return body;
}

/** How long fetching a provider's avatar may take. */
const AVATAR_TIMEOUT_MS = 10_000;

/**
 * Adds the provider's avatar to a sign-up body when the collection maps `avatarURL` to a file field, as
 * PocketBase does: fetched with SSRF checks (public addresses only unless the config allows loopback or
 * private ones, each redirect checked), a timeout and the field's `maxSize` as a byte cap. A picture that
 * cannot be fetched, is too large or is not of a type the field accepts is left out (logged); the sign-up
 * goes on without it.
 */
async function withAvatar(
  app: App,
  collection: AuthCollection,
  user: OAuth2User,
  body: Record<string, unknown>,
  log: Logger,
): Promise<Record<string, unknown>> {
  const name = collection.oauth2.mappedFields.avatarURL;
  const field = name ? collection.fields.find((f) => f.name === name) : undefined;
  if (field?.type !== "file" || !user.avatarURL || field.name in body) return body;
  try {
    const maxSize = Number(field.maxSize) > 0 ? Number(field.maxSize) : DEFAULT_FILE_MAX_SIZE;
    const bytes = await safeGetBytes(user.avatarURL, {
      allowed: app.config.oauth2AvatarAllowedTargets,
      timeoutMs: AVATAR_TIMEOUT_MS,
      maxResponseBytes: maxSize,
      maxRedirects: 3,
    });
    const base = new URL(user.avatarURL).pathname.split("/").pop() || "avatar";
    const file = await UploadedFile.fromBuffer(bytes, base);
    const types = (field.mimeTypes as string[] | undefined) ?? [];
    if (types.length && !types.includes(baseMime(file.mimeType))) {
      log.warn(
        { type: file.mimeType, field: field.name },
        "OAuth2 avatar skipped: a type the field does not accept",
      );
      return body;
    }
    return { ...body, [field.name]: [file] };
  } catch (err) {
    log.warn({ err, field: field.name }, "OAuth2 avatar could not be fetched");
    return body;
  }
}

/** A provider e-mail (always one the provider says is verified, or "") equal to the record's, ignoring case. */
function sameEmail(record: RecordRow, user: OAuth2User): boolean {
  const email = String(record.email ?? "");
  return email !== "" && user.email !== "" && email.toLowerCase() === user.email.toLowerCase();
}

/**
 * Whether a signed-in caller may add this provider account to its own record. A verified record may link any
 * provider account, as in PocketBase. An unverified record is what a squatter holds after registering someone
 * else's address: letting him link his own provider account would give him a way back in that survives the
 * owner claiming the address. So an unverified record may only link a provider account that asserts (as
 * verified, see `OAuth2User.email`) the record's own address, which proves the caller owns it. A record without
 * an e-mail has no address anyone can claim, so it links as before (and takes the provider's e-mail).
 */
function callerMayLink(record: RecordRow, user: OAuth2User): boolean {
  return Boolean(record.verified) || String(record.email ?? "") === "" || sameEmail(record, user);
}

/** What signing in to an existing record changes, decided on the record as read inside the transaction. */
function existingRecordPlan(record: RecordRow, user: OAuth2User, isCaller: boolean) {
  const email = String(record.email ?? "");
  const unverified = !record.verified && email !== "";
  return {
    // Someone may have registered this address before its owner: their password (and every token) stops working.
    resetPassword: !isCaller && unverified,
    // The owner of the address claims it: whatever provider accounts the squatter linked to it go too.
    unlinkOthers: !isCaller && unverified && sameEmail(record, user),
    changes: {
      ...(email === "" && user.email ? { email: user.email } : {}),
      ...(!record.verified && (email === "" || sameEmail(record, user)) ? { verified: true } : {}),
    },
  };
}

/**
 * The OAuth2 sign-in (`{provider, code, redirectURL, codeVerifier?, createData?}`): completes the authorization-code flow (PKCE verifier included),
 * then signs in the linked account, links the caller's or the same-e-mail account, or creates one through the
 * records service (create rule checked, context `oauth2`). Every write of a sign-in (the new or claimed record,
 * its links) is one transaction: when any of it fails nothing is changed, and events go out after the commit.
 *
 * Claiming an unverified account by e-mail (the provider asserts its verified address and the caller is not
 * that account) treats it as pre-registered by someone else: its provider links are all removed, its password
 * is replaced by a random one and its token key rotated (every session and token revoked), then the new
 * provider account is linked. A signed-in caller may not link a provider account to its own unverified record
 * unless the provider asserts that record's address (see `callerMayLink`).
 */
export async function signInWithOAuth2(
  app: App,
  caller: AuthCaller,
  collection: AuthCollection,
  input: Record<string, unknown>,
): Promise<AuthAnswer> {
  if (!collection.oauth2.enabled)
    throw forbidden("The collection is not configured to allow OAuth2 authentication.");
  const form = validate(collection, input);
  const config = collection.oauth2.providers.find((p) => p.name === form.provider)!;
  const provider = resolveProvider(config);
  if (!provider) throw new ApiError(500, "Missing or invalid provider config.");
  let user: OAuth2User;
  try {
    const token = await exchangeCode(provider, form.code, form.codeVerifier, form.redirectURL);
    try {
      user = await fetchOAuth2User(provider, token);
    } catch (err) {
      throw badRequest("Failed to fetch OAuth2 user.", {}, err);
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw badRequest("Failed to fetch OAuth2 token.", {}, err);
  }
  const auth = caller.request.auth;
  const signedIn = auth?.collection.id === collection.id ? auth.record : undefined;
  const linked = await findLinkedRecord(app, collection, form.provider, user.id);
  const found: RecordRow | undefined =
    linked ?? signedIn ?? (await app.auth.findByEmail(collection, user.email));
  const isNew = !found;
  const isCaller = found !== undefined && signedIn !== undefined && signedIn.id === found.id;
  const identity = { provider: form.provider, providerId: user.id };
  let record: RecordRow;
  try {
    if (!found && collection.name === "_superusers") throw badRequest("Failed to authenticate.");
    // Hashing is slow: the random password a claim may need is hashed before the transaction opens.
    const resetHash =
      found && existingRecordPlan(found, user, isCaller).resetPassword
        ? await hashPassword(randomPassword())
        : undefined;
    const req = {
      ...caller.request,
      context: "oauth2",
      ...(found
        ? {}
        : {
            body: await withAvatar(
              app,
              collection,
              user,
              signUpBody(collection, user, form.createData),
              app.log,
            ),
          }),
    };
    record = await app.records.transaction(async (records) => {
      const tx = records.queryContext(req).q;
      let current: RecordRow;
      if (!found) {
        current = await records.create(collection, { ...req, auth: null });
        if (String(current.email) === user.email && !current.verified) {
          const before = current;
          current = await records.systemUpdate(collection, before, (q) =>
            updateAuthRecord(q, collection, before, { verified: true }),
          );
        }
      } else {
        // Decide on the row as it is now, not as it was read before the transaction.
        const before = await findRow(tx, collection, String(found.id));
        if (!before) throw badRequest("Failed to authenticate.");
        if (isCaller && !linked && !callerMayLink(before, user)) {
          throw badRequest("Failed to authenticate.");
        }
        const plan = existingRecordPlan(before, user, isCaller);
        if (plan.unlinkOthers) {
          await unlinkExternalAuths(records, app, collection, before, linked ? identity : undefined);
        }
        const password = plan.resetPassword
          ? resetHash !== undefined
            ? { newPasswordHash: resetHash }
            : { password: randomPassword() }
          : {};
        current = await records.systemUpdate(collection, before, (q) =>
          updateAuthRecord(q, collection, before, { ...password, ...plan.changes }),
        );
      }
      if (!linked) await linkExternalAuth(records, app, collection, current, form.provider, user.id);
      return current;
    });
  } catch (err) {
    if (err instanceof ApiError && err.status >= 500) throw err;
    throw badRequest("Failed to authenticate.", err instanceof ApiError ? err.data : {}, err);
  }
  const fresh = (await findRow(app.db, collection, String(record.id))) ?? record;
  const meta = { ...user, avatarUrl: user.avatarURL, isNew };
  return authAnswer(app, caller, collection, fresh, { method: "oauth2", meta });
}
