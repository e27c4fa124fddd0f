import { accessSync, constants, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { BasaltError } from "../errors/index.js";

/** Creates the data folder if needed and checks it can be written; throws a clear operator error if not. */
export function prepareDataDir(dir: string): string {
  const abs = resolve(dir);
  try {
    mkdirSync(abs, { recursive: true });
    accessSync(abs, constants.W_OK);
  } catch (err) {
    throw new BasaltError("BASALT_ERR_DATA_DIR_UNWRITABLE", `${abs}: ${(err as Error).message}`, err);
  }
  return abs;
}
