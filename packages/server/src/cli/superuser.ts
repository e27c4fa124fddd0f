import { pino } from "pino";
import { superuserInputErrors } from "../auth/index.js";
import { openApp } from "../core/app.js";
import { DEFAULT_CONFIG } from "../core/config.js";
import { BasaltError, badRequest } from "../errors/index.js";
import { prepareDataDir } from "./data-dir.js";
import { fail } from "./fail.js";

/** `basalt superuser upsert EMAIL PASSWORD`. */
export async function runSuperuserUpsert(
  email: string,
  password: string,
  opts: { dir: string; db?: string },
): Promise<void> {
  try {
    const errors = superuserInputErrors(email, password);
    if (errors) throw badRequest("Invalid superuser data.", errors);
    const dataDir = prepareDataDir(opts.dir);
    const app = await openApp(
      { ...DEFAULT_CONFIG, dataDir, dbUrl: opts.db ?? "" },
      pino({ level: "silent" }),
    );
    try {
      const result = await app.auth.upsertSuperuser(email, password);
      console.log(`Superuser ${email.toLowerCase()} ${result}.`);
    } finally {
      await app.close();
    }
  } catch (err) {
    fail(err);
  }
}

/** `basalt superuser delete EMAIL`. */
export async function runSuperuserDelete(email: string, opts: { dir: string; db?: string }): Promise<void> {
  try {
    const dataDir = prepareDataDir(opts.dir);
    const app = await openApp(
      { ...DEFAULT_CONFIG, dataDir, dbUrl: opts.db ?? "" },
      pino({ level: "silent" }),
    );
    try {
      if (!(await app.auth.deleteSuperuser(email)))
        throw new BasaltError("BASALT_ERR_CLI_SUPERUSER_NOT_FOUND", email);
      console.log(`Superuser ${email.toLowerCase()} deleted.`);
    } finally {
      await app.close();
    }
  } catch (err) {
    fail(err);
  }
}
