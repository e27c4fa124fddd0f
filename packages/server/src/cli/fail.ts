import { DbCorruptError, DbUnavailableError } from "../db/index.js";
import { ApiError, BasaltError } from "../errors/index.js";

/** Prints one clear line for an operator error and exits non-zero. */
export function fail(err: unknown): never {
  let line: string;
  if (err instanceof BasaltError) line = `${err.message} (${err.code})`;
  else if (err instanceof DbCorruptError) {
    line = "The database file is not a valid SQLite database (BASALT_ERR_DB_CORRUPT).";
  } else if (err instanceof DbUnavailableError) {
    line = `The database cannot be opened: ${err.message} (BASALT_ERR_DB_UNAVAILABLE).`;
  } else if (err instanceof ApiError) {
    const details = fieldMessages(err.data).join("; ");
    line = details ? `${err.message} ${details}` : err.message;
  } else if (
    (err as NodeJS.ErrnoException)?.code === "EACCES" ||
    (err as NodeJS.ErrnoException)?.code === "EROFS"
  ) {
    line = `The data folder cannot be written: ${(err as Error).message} (BASALT_ERR_DATA_DIR_UNWRITABLE).`;
  } else if (
    (err as NodeJS.ErrnoException)?.code === "ENOTDIR" ||
    (err as NodeJS.ErrnoException)?.code === "EEXIST"
  ) {
    line = `The data folder path is not a folder: ${(err as Error).message} (BASALT_ERR_DATA_DIR_UNWRITABLE).`;
  } else {
    line = `Unexpected error: ${err instanceof Error ? err.message : String(err)}`;
  }
  console.error(`Error: ${line}`);
  process.exit(1);
}

/** `path: message` for every field error, nested ones included (`superuserIPs.1: invalid IP or CIDR subnet`). */
function fieldMessages(data: object, prefix = ""): string[] {
  return Object.entries(data).flatMap(([k, v]) => {
    if (v && typeof v === "object" && typeof (v as { message?: unknown }).message === "string") {
      return [`${prefix}${k}: ${(v as { message: string }).message}`];
    }
    if (v && typeof v === "object" && Object.keys(v).length) return fieldMessages(v, `${prefix}${k}.`);
    return [`${prefix}${k}: invalid`];
  });
}
