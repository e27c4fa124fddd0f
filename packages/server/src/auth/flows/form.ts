import type { App } from "../../core/app.js";
import { type AuthCollection, isAuthCollection } from "../../core/collections/index.js";
import { isEmailFormat } from "../../core/records/index.js";
import { badRequest, type ErrorData, type FieldError, fieldError, notFound } from "../../errors/index.js";

/** PocketBase's message for a form that failed validation. */
export const INVALID_DATA = "An error occurred while validating the submitted data.";

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

/** Finds an auth collection by id or name for an auth flow, or a 404 in PocketBase's words. */
export function authCollectionOr404(app: App, idOrName: string): AuthCollection {
  const c = app.collections.find(idOrName);
  if (!c || !isAuthCollection(c)) throw notFound("Missing or invalid auth collection context.");
  return c;
}
