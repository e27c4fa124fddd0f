import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { DbTimeoutError, DbUnavailableError } from "../db/index.js";
import { ApiError, DEFAULT_MESSAGES, LimitError } from "../errors/index.js";
import { closeAfterAnswer } from "./linger-close.js";

/** Maps a Fastify framework error (parse, limits, media type) to an ApiError, or null for anything else. */
function frameworkError(err: FastifyError): ApiError | null {
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ApiError(413, "Request entity too large.");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new ApiError(400, "Failed to load the submitted data due to invalid formatting.");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new ApiError(415, "Unsupported Content-Type.");
    default:
      break;
  }
  if (err instanceof SyntaxError)
    return new ApiError(400, "Failed to load the submitted data due to invalid formatting.");
  const status = err.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return new ApiError(status, DEFAULT_MESSAGES[status] ?? DEFAULT_MESSAGES[400]);
  }
  return null;
}

/**
 * The one place errors become HTTP answers, always in PocketBase's `{status, message, data}` shape. Causes
 * and unexpected errors are logged with the request id; clients never see a stack or SQL.
 */
export function handleError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  let apiError: ApiError;
  if (err instanceof ApiError) {
    apiError = err;
    if (err instanceof LimitError) request.log.info({ code: err.code }, "request over a work limit");
    if (err.cause) request.log.debug({ err: err.cause }, "request failed");
  } else if (err instanceof DbTimeoutError) {
    request.log.warn({ code: "BASALT_ERR_LIMIT_QUERY_TIMEOUT", timeoutMs: err.timeoutMs }, "query stopped");
    apiError = new LimitError(
      "BASALT_ERR_LIMIT_QUERY_TIMEOUT",
      `The limit is ${err.timeoutMs} ms (--query-timeout).`,
    );
  } else if (err instanceof DbUnavailableError) {
    request.log.warn({ err }, "database unavailable");
    apiError = new ApiError(503, "The service is temporarily unavailable, please try again.");
  } else {
    apiError = frameworkError(err) ?? new ApiError(500);
    if (apiError.status >= 500) request.log.error({ err }, "unhandled error");
  }
  request.failure = apiError;
  if (apiError.status === 429) {
    const wait = apiError.retryAfter;
    reply.header("Retry-After", wait !== undefined ? String(wait) : (reply.getHeader("retry-after") ?? "1"));
  }
  // refused before its body was read in full (a limit crossed mid-upload): no reading the rest
  closeAfterAnswer(request, reply);
  reply.status(apiError.status).send(apiError.toJSON());
}

/** The answer to a route that does not exist. */
export function handleNotFound(request: FastifyRequest, reply: FastifyReply): void {
  const err = new ApiError(404);
  request.failure = err;
  reply.status(404).send(err.toJSON());
}
