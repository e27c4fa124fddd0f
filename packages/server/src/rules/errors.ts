import { ApiError, type ErrorData } from "../errors/index.js";

/**
 * A filter, sort or rule that cannot be used: a syntax error, an unknown or hidden field, a limit exceeded.
 * Sent as PocketBase's generic 400; `reason` is for logs and rule validation, never SQL text.
 */
export class FilterError extends ApiError {
  readonly reason: string;

  constructor(reason: string, data: ErrorData = {}, message?: string) {
    super(400, message, data);
    this.name = "FilterError";
    this.reason = reason;
  }
}

/** A client filter or sort that only superusers may write (`@collection.*`, `@request.*`): a 403. */
export class FilterForbiddenError extends ApiError {
  constructor(message: string) {
    super(403, message);
    this.name = "FilterForbiddenError";
  }
}
