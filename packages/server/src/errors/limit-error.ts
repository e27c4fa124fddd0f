import { ApiError } from "./api-error.js";
import { ERROR_CODES, type ErrorCode } from "./codes.js";

/** The registered codes of the per-request work limits (issue 10). */
export type LimitCode = Extract<ErrorCode, `BASALT_ERR_LIMIT_${string}`>;

/**
 * A request refused because it would exceed a work limit (expanded records, relation fan-out, joins,
 * query time): PocketBase's 400 shape with the registered message and a detail saying which limit and
 * how to change it. `code` goes to the logs.
 */
export class LimitError extends ApiError {
  readonly code: LimitCode;

  constructor(code: LimitCode, detail?: string, cause?: unknown) {
    const entry = ERROR_CODES[code];
    super(entry.status, detail ? `${entry.message} ${detail}` : entry.message, {}, cause);
    this.name = "LimitError";
    this.code = code;
  }
}
