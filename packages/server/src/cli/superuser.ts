import { pino } from "pino";
import { openApp } from "../core/app.js";
import { DEFAULT_CONFIG } from "../core/config.js";
import { BasaltError } from "../errors/index.js";
import { prepareDataDir } from "./data-dir.js";
import { encryptionFrom } from "./encryption.js";
import { fail } from "./fail.js";
import { checkSuperuserInput, holdsData } from "./preflight.js";

/** `basalt superuser upsert EMAIL PASSWORD`. */
export async function runSuperuserUpsert(
  email: string,
  password: string,
  opts: { dir: string; db?: string; encryptionEnv?: string },
): Promise<void> {
  try {
    checkSuperuserInput(email, password);
    const fresh = !opts.db && !holdsData(opts.dir);
    const dataDir = prepareDataDir(opts.dir);
    const app = await openApp(
      { ...DEFAULT_CONFIG, dataDir, dbUrl: opts.db ?? "", ...encryptionFrom(opts) },
      pino({ level: "silent" }),
    );
    try {
      const result = await app.auth.upsertSuperuser(email, password);
      console.log(`Superuser ${email.toLowerCase()} ${result}.`);
      if (fresh) {
        console.log(
          `There was no Basalt data in ${dataDir}: a new data folder was created there (use --dir to pick an existing one).`,
        );
      }
    } finally {
      await app.close();
    }
  } catch (err) {
    fail(err);
  }
}

/** `basalt superuser delete EMAIL`. */
export async function runSuperuserDelete(
  email: string,
  opts: { dir: string; db?: string; encryptionEnv?: string },
): Promise<void> {
  try {
    // deleting from a folder without data would create an empty database just to find nothing
    if (!opts.db && !holdsData(opts.dir)) throw new BasaltError("BASALT_ERR_CLI_NO_DATA", `(${opts.dir})`);
    const dataDir = prepareDataDir(opts.dir);
    const app = await openApp(
      { ...DEFAULT_CONFIG, dataDir, dbUrl: opts.db ?? "", ...encryptionFrom(opts) },
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

/**
 * `basalt superuser ips [IP_OR_SUBNET...]`: replaces the `superuserIPs` allowlist (none given clears it),
 * PocketBase's way back in when a superuser's own address is no longer on the list. Entries are validated
 * as the API validates them; nothing is saved on error. A running server sees the change when it restarts.
 */
export async function runSuperuserIps(
  ips: string[],
  opts: { dir: string; db?: string; encryptionEnv?: string },
): Promise<void> {
  try {
    if (!opts.db && !holdsData(opts.dir)) throw new BasaltError("BASALT_ERR_CLI_NO_DATA", `(${opts.dir})`);
    const dataDir = prepareDataDir(opts.dir);
    const app = await openApp(
      { ...DEFAULT_CONFIG, dataDir, dbUrl: opts.db ?? "", ...encryptionFrom(opts) },
      pino({ level: "silent" }),
    );
    try {
      const saved = await app.settings.update({ superuserIPs: ips });
      if (saved.superuserIPs.length === 0)
        console.log("superuserIPs cleared: superusers may act from any address.");
      else console.log(`superuserIPs set to: ${saved.superuserIPs.join(", ")}`);
    } finally {
      await app.close();
    }
  } catch (err) {
    fail(err);
  }
}
