import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";
import { badRequest, type ErrorData, fieldError, forbidden } from "../errors/index.js";
import { bodyObject } from "./guards.js";
import { authCollectionOr404, requiredText, throwIfInvalid } from "./records-auth-helpers.js";
import { sendAuthResponse } from "./records-auth-response.js";

/**
 * `POST /api/collections/{c}/auth-with-password`: signs in with an identity (any of the collection's identity
 * fields, or the one `identityField` names) and a password. Limited only by the settings' rate-limit rules
 * (`*:auth`, …); an unknown identity and a wrong password take the same time and get the same 400.
 */
export function registerAuthWithPassword(server: FastifyInstance, app: App): void {
  server.post<{ Params: { collection: string } }>(
    "/api/collections/:collection/auth-with-password",
    async (request, reply) => {
      const collection = authCollectionOr404(app, request.params.collection);
      if (!collection.passwordAuth.enabled) {
        throw forbidden("The collection is not configured to allow password authentication.");
      }
      const body = bodyObject(request);
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
      return sendAuthResponse(app, request, reply, collection, record, { method: "password" });
    },
  );
}
