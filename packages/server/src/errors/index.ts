export {
  ApiError,
  badRequest,
  DEFAULT_MESSAGES,
  type ErrorData,
  type FieldError,
  fieldError,
  forbidden,
  notFound,
  tooManyRequests,
  unauthorized,
  validationFailed,
} from "./api-error.js";
export { BasaltError, ERROR_CODES, type ErrorCode } from "./codes.js";
export { type LimitCode, LimitError } from "./limit-error.js";
