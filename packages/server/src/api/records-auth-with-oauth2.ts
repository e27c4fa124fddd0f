import type { FastifyInstance } from "fastify";
import {
  exchangeCode,
  fetchOAuth2User,
  type OAuth2User,
  randomPassword,
  resolveProvider,
  updateAuthRecord,
} from "../auth/index.js";
import type { App } from "../core/app.js";
import type { AuthCollection } from "../core/collections/index.js";
import { findRow, type RecordRow } from "../core/records/index.js";
import { ApiError, badRequest, type ErrorData, fieldError, forbidden } from "../errors/index.js";
import { isPlainObject } from "../util/index.js";
import { bodyObject } from "./guards.js";
import {
  authCollectionOr404,
  emitAuthUpdate,
  enforceLimit,
  recordRequestOf,
  throwIfInvalid,
} from "./records-auth-helpers.js";
import { findLinkedRecord, linkExternalAuth } from "./records-auth-oauth2-link.js";
import { sendAuthResponse } from "./records-auth-response.js";

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
  // A file field would need the avatar downloaded (not done: no SSRF-safe fetcher yet); a text field gets the URL.
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

/**
 * `POST /api/collections/{c}/auth-with-oauth2`: completes the authorization-code flow (PKCE verifier included),
 * then signs in the linked account, links the caller's or the same-e-mail account, or creates one through the
 * records service (create rule checked, context `oauth2`). Linking an unverified account resets its password,
 * so whoever pre-registered the address loses it.
 */
export function registerAuthWithOAuth2(server: FastifyInstance, app: App): void {
  server.post<{ Params: { collection: string } }>(
    "/api/collections/:collection/auth-with-oauth2",
    async (request, reply) => {
      const collection = authCollectionOr404(app, request.params.collection);
      if (!collection.oauth2.enabled)
        throw forbidden("The collection is not configured to allow OAuth2 authentication.");
      const form = validate(collection, bodyObject(request));
      await enforceLimit(app, reply, "signInPerIp", request.ip);
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
      const caller = request.auth?.collection.id === collection.id ? request.auth.record : undefined;
      const linked = await findLinkedRecord(app, collection, form.provider, user.id);
      let record: RecordRow | undefined =
        linked ?? caller ?? (await app.auth.findByEmail(collection, user.email));
      const isNew = !record;
      try {
        if (!record) {
          if (collection.name === "_superusers") throw badRequest("Failed to authenticate.");
          const req = recordRequestOf(request, "oauth2", signUpBody(collection, user, form.createData));
          record = await app.records.create(collection, { ...req, auth: null });
          if (String(record.email) === user.email && !record.verified) {
            const after = await updateAuthRecord(app.db, collection, record, { verified: true });
            emitAuthUpdate(app, collection, record, after);
            record = after;
          }
        } else {
          const before = record;
          const isCaller = caller !== undefined && caller.id === record.id;
          const email = String(record.email ?? "");
          record = await updateAuthRecord(app.db, collection, record, {
            // Someone may have registered this address before its owner: their password stops working.
            ...(!isCaller && email !== "" && !record.verified ? { password: randomPassword() } : {}),
            ...(email === "" && user.email ? { email: user.email } : {}),
            ...(!record.verified && (email === "" || email.toLowerCase() === user.email.toLowerCase())
              ? { verified: true }
              : {}),
          });
          emitAuthUpdate(app, collection, before, record);
        }
        if (!linked) await linkExternalAuth(app, collection, record, form.provider, user.id);
      } catch (err) {
        if (err instanceof ApiError && err.status >= 500) throw err;
        throw badRequest("Failed to authenticate.", err instanceof ApiError ? err.data : {}, err);
      }
      const fresh = (await findRow(app.db, collection, String(record.id))) ?? record;
      const meta = { ...user, avatarUrl: user.avatarURL, isNew };
      return sendAuthResponse(app, request, reply, collection, fresh, { method: "oauth2", meta });
    },
  );
}
