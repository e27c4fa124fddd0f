import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";
import type { AuthCollection } from "../core/collections/index.js";
import { badRequest, type ErrorData, fieldError, forbidden } from "../errors/index.js";
import type { AuthAnswer } from "../graphql/index.js";
import { bodyObject } from "./guards.js";
import { clientIp } from "./rate-limit.js";
import {
  authCollectionOr404,
  recordRequestOf,
  requiredText,
  throwIfInvalid,
} from "./records-auth-helpers.js";
import { type AuthCaller, authAnswer, mfaIdOf } from "./records-auth-response.js";

/**
 * Signs in with an identity (any of the collection's identity fields, or the one `identityField` names) and a
 * password, answering as the REST route does (REST and GraphQL share it). An unknown identity and a wrong
 * password take the same time and get the same 400.
 */
export async function passwordSignIn(
  app: App,
  caller: AuthCaller,
  collection: AuthCollection,
  body: Record<string, unknown>,
): Promise<AuthAnswer> {
  if (!collection.passwordAuth.enabled) {
    throw forbidden("The collection is not configured to allow password authentication.");
  }
  const { identity, password, identityField } = body;
  const errors: ErrorData = {};
  const identityErr = requiredText(identity);
  if (identityErr) errors.identity = identityErr;
  const passwordErr = requiredText(password);
  if (passwordErr) errors.password = passwordErr;
  if (
    identityField !== undefined &&
    identityField !== "" &&
    (typeof identityField !== "string" || !collection.passwordAuth.identityFields.includes(identityField))
  ) {
    errors.identityField = fieldError("validation_in_invalid", "Must be a valid value.");
  }
  throwIfInvalid(errors);
  const record = await app.auth.checkPassword(
    collection,
    identity as string,
    password as string,
    (identityField as string) || undefined,
  );
  if (!record) throw badRequest("Failed to authenticate.");
  return authAnswer(app, caller, collection, record, { method: "password" });
}

/**
 * `POST /api/collections/{c}/auth-with-password`: {@link passwordSignIn}. Limited only by the settings'
 * rate-limit rules (`*:auth`, …).
 */
export function registerAuthWithPassword(server: FastifyInstance, app: App): void {
  server.post<{ Params: { collection: string } }>(
    "/api/collections/:collection/auth-with-password",
    async (request, reply) => {
      const collection = authCollectionOr404(app, request.params.collection);
      if (!collection.passwordAuth.enabled) {
        throw forbidden("The collection is not configured to allow password authentication.");
      }
      const query = request.query as Record<string, unknown> | undefined;
      const answer = await passwordSignIn(
        app,
        {
          request: recordRequestOf(request),
          mfaId: mfaIdOf(request),
          ip: clientIp(app, request),
          expand: typeof query?.expand === "string" ? query.expand : undefined,
        },
        collection,
        bodyObject(request),
      );
      return reply.status(answer.status).send(answer.body);
    },
  );
}
