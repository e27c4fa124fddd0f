/**
 * The registry of Basalt's own error codes: `BASALT_ERR_<AREA>_<WHAT>` → status and message.
 * These are logged and used by the CLI; API clients see PocketBase's `{status, message, data}`.
 * `docs/errors.md` lists the same codes; a test keeps the two in step.
 */
export const ERROR_CODES = {
  BASALT_ERR_CLI_INVALID_EMAIL: { status: 400, message: "The e-mail address is not valid." },
  BASALT_ERR_CLI_SHORT_PASSWORD: { status: 400, message: "The password must be at least 8 characters." },
  BASALT_ERR_CLI_SUPERUSER_NOT_FOUND: { status: 404, message: "No superuser has that e-mail address." },
  BASALT_ERR_CLI_USAGE: { status: 400, message: "The command line is not valid (see --help)." },
  BASALT_ERR_CLI_SUPERUSER_PASSWORD_MISSING: {
    status: 400,
    message: "BASALT_SUPERUSER_EMAIL is set but BASALT_SUPERUSER_PASSWORD is missing.",
  },
  BASALT_ERR_CLI_SUPERUSER_EMAIL_MISSING: {
    status: 400,
    message: "BASALT_SUPERUSER_PASSWORD is set but BASALT_SUPERUSER_EMAIL is missing.",
  },
  BASALT_ERR_CLI_NO_DATA: {
    status: 404,
    message: "The data folder holds no Basalt data; nothing was changed.",
  },
  BASALT_ERR_SERVE_PORT_IN_USE: {
    status: 500,
    message: "The address is already in use; choose another with --http host:port or BASALT_HTTP.",
  },
  BASALT_ERR_SERVE_BAD_ADDRESS: { status: 400, message: "The --http address must look like host:port." },
  BASALT_ERR_SERVE_BAD_PORT: { status: 400, message: "The --http port must be a number from 0 to 65535." },
  BASALT_ERR_SERVE_WORKERS_DEV: {
    status: 400,
    message: "--dev reloads hook files in one process: use it without --workers.",
  },
  BASALT_ERR_SERVE_WORKER_FAILED: {
    status: 500,
    message: "A worker process stopped while starting; Basalt did not start.",
  },
  BASALT_ERR_HOOKS_COMPILE: { status: 500, message: "The hook files do not compile; Basalt did not start." },
  BASALT_ERR_HOOKS_LOAD: { status: 500, message: "The hook files failed to load; Basalt did not start." },
  BASALT_ERR_MIGRATION_FAILED: {
    status: 500,
    message: "A migration failed and was rolled back; the migrations after it were not run.",
  },
  BASALT_ERR_MIGRATION_COMPILE: {
    status: 500,
    message: "The migration files do not compile; nothing was migrated.",
  },
  BASALT_ERR_MIGRATION_FILE: {
    status: 400,
    message: "A migration file cannot be used.",
  },
  BASALT_ERR_MIGRATION_MISSING_FILE: {
    status: 404,
    message: "An applied migration's file is no longer in the migrations folder.",
  },
  BASALT_ERR_MIGRATION_NO_DOWN: {
    status: 400,
    message: "The migration cannot be reverted: it has no down step.",
  },
  BASALT_ERR_MIGRATION_NAME: {
    status: 400,
    message: "The migration name is not valid.",
  },
  BASALT_ERR_DATA_DIR_UNWRITABLE: { status: 500, message: "The data folder cannot be written." },
  BASALT_ERR_DB_CORRUPT: { status: 500, message: "The database file is not a valid SQLite database." },
  BASALT_ERR_DB_UNAVAILABLE: { status: 503, message: "The database is unavailable." },
  BASALT_ERR_ENCRYPTION_KEY_MISSING: {
    status: 500,
    message: "Stored secrets are encrypted and no encryption key was given; Basalt did not start.",
  },
  BASALT_ERR_ENCRYPTION_KEY_INVALID: {
    status: 500,
    message: "The encryption key is not usable; Basalt did not start.",
  },
  BASALT_ERR_ENCRYPTION_KEY_WRONG: {
    status: 500,
    message:
      "The encryption key is not the one the stored secrets were encrypted with; Basalt did not start.",
  },
  BASALT_ERR_TRANSFER_NO_SOURCE: { status: 404, message: "There is no Basalt data to export." },
  BASALT_ERR_TRANSFER_FILE: { status: 400, message: "The dump file cannot be used." },
  BASALT_ERR_TRANSFER_BAD_DUMP: { status: 400, message: "The dump is not a complete Basalt dump." },
  BASALT_ERR_TRANSFER_TARGET_NOT_EMPTY: {
    status: 409,
    message: "The target database is not empty; import needs an empty one and changed nothing.",
  },
  BASALT_ERR_TRANSFER_VIEW_QUERY: {
    status: 400,
    message: "A view collection's query does not run on the target database.",
  },
  BASALT_ERR_TRANSFER_COUNT_MISMATCH: {
    status: 500,
    message: "The imported record counts do not match the dump.",
  },
  BASALT_ERR_TRANSFER_DUPLICATE_AUTH_ID: {
    status: 400,
    message: "Two auth collections in the dump hold a record with the same id; nothing was imported.",
  },
  BASALT_ERR_TRANSFER_FILES: {
    status: 400,
    message:
      "The dump's files cannot be copied (an incomplete files folder, or a target storage/ that is not empty); nothing was imported.",
  },
  BASALT_ERR_PB_IMPORT_SOURCE: {
    status: 400,
    message: "The folder is not a readable PocketBase data folder (pb_data); nothing was imported.",
  },
  BASALT_ERR_PB_IMPORT_COLLECTION: {
    status: 400,
    message: "A PocketBase collection cannot be converted to Basalt's model; nothing was imported.",
  },
  BASALT_ERR_PB_IMPORT_FILES: {
    status: 500,
    message: "The PocketBase uploaded files cannot be copied; nothing was imported.",
  },
  BASALT_ERR_LIMIT_EXPAND: {
    status: 400,
    message:
      "The response would hold too many expanded records; expand fewer relations or ask for fewer records.",
  },
  BASALT_ERR_LIMIT_FANOUT: {
    status: 400,
    message: "The filter or sort goes through too many multi-valued relations in one path.",
  },
  BASALT_ERR_LIMIT_JOINS: {
    status: 400,
    message: "The filter or sort needs too many joined tables.",
  },
  BASALT_ERR_LIMIT_QUERY_TIMEOUT: {
    status: 400,
    message: "The query took too long and was stopped; narrow the filter, sort or expand.",
  },
  BASALT_ERR_HTTP_UNHANDLED: { status: 500, message: "Something went wrong while processing your request." },
} as const;

/** One of the registered error code names. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** An operator-facing error with a registered code (CLI, start-up). */
export class BasaltError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, detail?: string, cause?: unknown) {
    const entry = ERROR_CODES[code];
    super(detail ? `${entry.message} ${detail}` : entry.message, cause === undefined ? undefined : { cause });
    this.name = "BasaltError";
    this.code = code;
    this.status = entry.status;
  }
}
