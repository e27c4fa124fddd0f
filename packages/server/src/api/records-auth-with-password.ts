import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";
import { type AuthCollection, isAuthCollection } from "../core/collections/index.js";
import { badRequest, type ErrorData, fieldError, forbidden, notFound } from "../errors/index.js";
import { bodyObject } from "./guards.js";
import { authResponse } from "./records-auth-response.js";

/** Finds an auth collection by id or name for an auth route, or a 404 in PocketBase's words. */
export function authCollectionOr404(app: App, idOrName: string): AuthCollection {
  const c = app.collections.find(idOrName);
  if (!c || !isAuthCollection(c)) throw notFound("Missing or invalid auth collection context.");
  return c;
}

/** `POST /api/collections/{c}/auth-with-password`: signs in with an identity (e-mail, username…) and password. */
export function registerAuthWithPassword(server: FastifyInstance, app: App): void {
  server.post<{ Params: { collection: string } }>(
    "/api/collections/:collection/auth-with-password",
    async (request) => {
      const collection = authCollectionOr404(app, request.params.collection);
      if (!collection.passwordAuth.enabled) {
        throw forbidden("The collection is not configured to allow password authentication.");
      }
      const body = bodyObject(request);
      const errors: ErrorData = {};
      const identity = body.identity;
      const password = body.password;
      const identityField = body.identityField;
      if (typeof identity !== "string" || identity === "")
        errors.identity = fieldError("validation_required", "Cannot be blank.");
      else if (identity.length > 255)
        errors.identity = fieldError("validation_length_too_long", "The length must be no more than 255.");
      if (typeof password !== "string" || password === "")
        errors.password = fieldError("validation_required", "Cannot be blank.");
      else if (password.length > 255)
        errors.password = fieldError("validation_length_too_long", "The length must be no more than 255.");
      if (
        identityField !== undefined &&
        identityField !== "" &&
        (typeof identityField !== "string" || !collection.passwordAuth.identityFields.includes(identityField))
      ) {
        errors.identityField = fieldError("validation_in_invalid", "Must be a valid value.");
      }
      if (Object.keys(errors).length)
        throw badRequest("An error occurred while validating the submitted data.", errors);
      const record = await app.auth.checkPassword(
        collection,
        identity as string,
        password as string,
        (identityField as string) || undefined,
      );
      if (!record) throw badRequest("Failed to authenticate.");
      if (collection.authRule === null && collection.name !== "_superusers") {
        throw forbidden("The request doesn't satisfy the collection requirements to authenticate.");
      }
      await app.checkAuthRule(collection, record);
      return authResponse(app, collection, record);
    },
  );
}
