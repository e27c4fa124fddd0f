/** One field's validation failure, as PocketBase sends it under `data.<field>`. */
export interface FieldError {
  code: string;
  message: string;
  params?: Record<string, unknown>;
}

/** A nested map of field errors: `{title: {code, message}}` or deeper for nested objects. */
export type ErrorData = { [key: string]: FieldError | ErrorData };

/** The default messages PocketBase uses per status. */
export const DEFAULT_MESSAGES: Record<number, string> = {
  400: "Something went wrong while processing your request.",
  401: "Missing or invalid authentication.",
  403: "You are not allowed to perform this request.",
  404: "The requested resource wasn't found.",
  413: "Request entity too large.",
  429: "Too Many Requests.",
  500: "Something went wrong while processing your request.",
  503: "Service unavailable.",
};

/**
 * An error that crosses the HTTP boundary in PocketBase's shape `{status, message, data}`.
 * `cause` is logged by the error handler and never sent to the client.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly data: ErrorData;
  /** For a 429: the seconds after which the client may try again (sent as `Retry-After`). */
  retryAfter?: number;

  constructor(status: number, message?: string, data: ErrorData = {}, cause?: unknown) {
    super(
      message || DEFAULT_MESSAGES[status] || DEFAULT_MESSAGES[500],
      cause === undefined ? undefined : { cause },
    );
    this.name = "ApiError";
    this.status = status;
    this.data = data;
  }

  /** The JSON body sent to the client. */
  toJSON(): { status: number; message: string; data: ErrorData } {
    return { status: this.status, message: this.message, data: this.data };
  }
}

/** 400 with optional per-field errors. */
export function badRequest(message?: string, data?: ErrorData, cause?: unknown): ApiError {
  return new ApiError(400, message, data, cause);
}

/** 401: missing or invalid authentication. */
export function unauthorized(message?: string, data?: ErrorData): ApiError {
  return new ApiError(401, message, data);
}

/** 403: the caller is known but not allowed. */
export function forbidden(message?: string, data?: ErrorData): ApiError {
  return new ApiError(403, message, data);
}

/** 404: missing resource, or one the caller's rules hide. */
export function notFound(message?: string, cause?: unknown): ApiError {
  return new ApiError(404, message, {}, cause);
}

/** 429 with an optional retry delay (seconds) the HTTP layer turns into `Retry-After`. */
export function tooManyRequests(message?: string, retryAfterSeconds?: number): ApiError {
  const err = new ApiError(429, message);
  if (retryAfterSeconds !== undefined) err.retryAfter = retryAfterSeconds;
  return err;
}

/** A single field error value. */
export function fieldError(code: string, message: string, params?: Record<string, unknown>): FieldError {
  return params ? { code, message, params } : { code, message };
}

/** 400 "Failed to ..." with field errors, the form PocketBase uses for invalid submissions. */
export function validationFailed(
  data: ErrorData,
  message = "Something went wrong while processing your request.",
): ApiError {
  return new ApiError(400, message, data);
}
