import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, extname, join, resolve } from "node:path";
import { BasaltError } from "../errors/index.js";
import { hookEntries } from "../hooks/compile-hooks.js";

/** The default migrations folder's name, beside the data folder (PocketBase's `pb_migrations`). */
export const MIGRATIONS_DIR_NAME = "basalt_migrations";

/** The migrations folder for a config: `migrationsDir` when set, else `basalt_migrations` beside the data folder. */
export function migrationsDirFor(config: { migrationsDir?: string; dataDir: string }): string {
  return config.migrationsDir
    ? resolve(config.migrationsDir)
    : resolve(config.dataDir, "..", MIGRATIONS_DIR_NAME);
}

/**
 * The migration files of a folder by name (their order of application): top-level `.ts`, `.mts`, `.js` and
 * `.mjs` files. Two files differing only by extension would compile to one bundle, so they are refused.
 */
export function migrationFileNames(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const names = hookEntries(dir).map((p) => basename(p));
  const stems = new Set<string>();
  for (const n of names) {
    const stem = basename(n, extname(n));
    if (stems.has(stem))
      throw new BasaltError("BASALT_ERR_MIGRATION_FILE", `Two files in ${dir} are named ${stem}.*.`);
    stems.add(stem);
  }
  return names;
}

/** The longest label a migration file name carries. */
const MAX_LABEL = 80;

/** A file-name-safe label: lower case letters, digits and underscores. */
export function migrationLabel(text: string): string {
  const label = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, MAX_LABEL);
  if (!label)
    throw new BasaltError("BASALT_ERR_MIGRATION_NAME", `Got "${text}"; use letters, digits or underscores.`);
  return label;
}

let lastStamp = 0;

/**
 * Writes a new migration file `<unix milliseconds>_<label>.<ext>` (13 digits, so names sort in time order)
 * with a stamp above every file already there, so it applies after them even when clocks disagree.
 * Returns its path.
 */
export function writeMigrationFile(dir: string, label: string, ext: "js" | "ts", source: string): string {
  mkdirSync(dir, { recursive: true });
  let stamp = Math.max(Date.now(), lastStamp + 1);
  for (const name of migrationFileNames(dir)) {
    const m = /^(\d+)_/.exec(name);
    if (m && Number(m[1]) >= stamp) stamp = Number(m[1]) + 1;
  }
  lastStamp = stamp;
  const file = join(dir, `${stamp}_${migrationLabel(label)}.${ext}`);
  writeFileSync(file, source, { flag: "wx" });
  return file;
}
