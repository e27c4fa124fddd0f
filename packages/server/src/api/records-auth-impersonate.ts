import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";
import { findRow } from "../core/records/index.js";
import { fieldError, notFound } from "../errors/index.js";
import { bodyObject, requireSuperuser } from "./guards.js";
import { authCollectionOr404, throwIfInvalid } from "./records-auth-helpers.js";
import { sendAuthResponse } from "./records-auth-response.js";

/**
 * `POST /api/collections/{c}/impersonate/{id}` (superusers only): a static, non-refreshable auth token for
 * any record of an auth collection, lasting `duration` seconds (the collection's auth token duration when 0).
 */
export function registerAuthImpersonate(server: FastifyInstance, app: App): void {
  server.post<{ Params: { collection: string; id: string } }>(
    "/api/collections/:collection/impersonate/:id",
    async (request, reply) => {
      requireSuperuser(request);
      const collection = authCollectionOr404(app, request.params.collection);
      const record = await findRow(app.db, collection, request.params.id);
      if (!record) throw notFound();
      const duration = bodyObject(request).duration ?? 0;
      const valid = typeof duration === "number" && Number.isInteger(duration) && duration >= 0;
      throwIfInvalid(
        valid
          ? {}
          : {
              duration: fieldError("validation_min_greater_equal_than_required", "Must be no less than 0.", {
                threshold: 0,
              }),
            },
        "An error occurred while validating the submitted data.",
      );
      const seconds = (duration as number) || collection.authToken.duration;
      const token = app.auth.newToken(collection, record, "auth", { refreshable: false }, seconds);
      return sendAuthResponse(app, request, reply, collection, record, { method: "", token });
    },
  );
}
