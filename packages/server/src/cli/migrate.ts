import { relative } from "node:path";
import { pino } from "pino";
import { type App, openApp } from "../core/app.js";
import { DEFAULT_CONFIG } from "../core/config.js";
import { BasaltError } from "../errors/index.js";
import {
  type MigrationProgress,
  Migrator,
  migrationFileNames,
  migrationsDirFor,
  snapshotMigration,
  writeMigrationFile,
} from "../migrations/index.js";
import { prepareDataDir } from "./data-dir.js";
import { encryptionFrom } from "./encryption.js";
import { fail } from "./fail.js";
import { holdsData } from "./preflight.js";

/** The options every `basalt migrate` command takes. */
export interface MigrateOptions {
  dir: string;
  db?: string;
  migrationsDir?: string;
  encryptionEnv?: string;
}

const shown = (path: string) => relative(process.cwd(), path) || ".";
const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;

/** The folder the options name, without opening anything. */
function folderOf(opts: MigrateOptions): string {
  return migrationsDirFor({ migrationsDir: opts.migrationsDir, dataDir: opts.dir });
}

/** Opens the app of --dir/--db (without its HTTP server or hook files), runs fn, closes it; errors end the process. */
async function withMigrator(
  opts: MigrateOptions,
  needsData: boolean,
  fn: (migrator: Migrator, app: App) => Promise<void>,
): Promise<void> {
  try {
    if (needsData && !opts.db && !holdsData(opts.dir))
      throw new BasaltError("BASALT_ERR_CLI_NO_DATA", `(${opts.dir})`);
    const dataDir = prepareDataDir(opts.dir);
    const app = await openApp(
      {
        ...DEFAULT_CONFIG,
        dataDir,
        dbUrl: opts.db ?? "",
        migrationsDir: opts.migrationsDir ?? "",
        ...encryptionFrom(opts),
      },
      pino({ level: "silent" }),
    );
    try {
      await fn(new Migrator(app, folderOf(opts)), app);
    } finally {
      await app.close();
    }
  } catch (err) {
    fail(err);
  }
}

/** Prints one line per file as it finishes. */
const progressLines =
  (verb: string): MigrationProgress =>
  (file, phase, ms) => {
    if (phase === "done") console.log(`${verb} ${file} (${Math.round(ms)} ms)`);
    else if (phase === "skipped") console.log(`${file}: already done by another instance`);
  };

const TEMPLATE_TS = (name: string) => `import type { MigrationApp } from "basalt";

// Migration "${name}". \`basalt migrate up\` (and every start) applies it once, in one transaction with its
// history row; \`basalt migrate down\` reverts it. A throw rolls everything it did back.
export default {
  async up(app: MigrationApp) {
    // e.g. await app.collections.create({ name: "posts", type: "base", fields: [{ name: "title", type: "text" }] });
  },

  async down(app: MigrationApp) {
    // e.g. await app.collections.delete("posts");
  },
};
`;

const TEMPLATE_JS = (
  name: string,
) => `// Migration "${name}". \`basalt migrate up\` (and every start) applies it once, in one transaction with its
// history row; \`basalt migrate down\` reverts it. A throw rolls everything it did back.
export default {
  /** @param {import("basalt").MigrationApp} app */
  async up(app) {
    // e.g. await app.collections.create({ name: "posts", type: "base", fields: [{ name: "title", type: "text" }] });
  },

  /** @param {import("basalt").MigrationApp} app */
  async down(app) {
    // e.g. await app.collections.delete("posts");
  },
};
`;

/** `basalt migrate create NAME`: writes a new, empty migration file. */
export function runMigrateCreate(name: string, opts: MigrateOptions & { js?: boolean }): void {
  try {
    const dir = folderOf(opts);
    const file = writeMigrationFile(
      dir,
      name,
      opts.js ? "js" : "ts",
      (opts.js ? TEMPLATE_JS : TEMPLATE_TS)(name),
    );
    console.log(`Created ${shown(file)}`);
  } catch (err) {
    fail(err);
  }
}

/** `basalt migrate up`: applies the pending migrations in name order. */
export async function runMigrateUp(opts: MigrateOptions): Promise<void> {
  await withMigrator(opts, false, async (migrator) => {
    const pending = await migrator.pending();
    if (!pending.length) {
      console.log(`No pending migrations in ${shown(migrator.dir)}.`);
      return;
    }
    console.log(`Applying ${plural(pending.length, "migration")} from ${shown(migrator.dir)}:`);
    const done = await migrator.up(progressLines("Applied"));
    console.log(`Done: ${plural(done.length, "migration")} applied.`);
  });
}

/** `basalt migrate down [N]`: reverts the last N applied migrations (default 1). */
export async function runMigrateDown(count: number | undefined, opts: MigrateOptions): Promise<void> {
  await withMigrator(opts, true, async (migrator) => {
    const done = await migrator.down(count ?? 1, progressLines("Reverted"));
    if (!done.length) console.log("No applied migrations to revert.");
    else console.log(`Done: ${plural(done.length, "migration")} reverted.`);
  });
}

/** `basalt migrate history-sync`: forgets the applied migrations whose files are gone. */
export async function runMigrateHistorySync(opts: MigrateOptions): Promise<void> {
  await withMigrator(opts, true, async (migrator) => {
    const gone = await migrator.historySync();
    for (const file of gone) console.log(`Forgot ${file} (its file is gone)`);
    console.log(
      gone.length
        ? `Done: ${plural(gone.length, "history row")} removed.`
        : `The history matches ${shown(migrator.dir)}; nothing removed.`,
    );
  });
}

/** `basalt migrate collections`: writes a migration importing every current collection, recorded as applied. */
export async function runMigrateCollections(opts: MigrateOptions): Promise<void> {
  await withMigrator(opts, true, async (migrator, app) => {
    const file = writeMigrationFile(migrator.dir, "collections_snapshot", "js", snapshotMigration(app));
    const name = file.slice(migrator.dir.length + 1);
    await migrator.markApplied(name);
    console.log(
      `Created ${shown(file)} with ${plural(app.collections.list().length, "collection")}; recorded as applied here.`,
    );
  });
}

/** `basalt migrate status`: the applied and pending migrations. */
export async function runMigrateStatus(opts: MigrateOptions): Promise<void> {
  await withMigrator(opts, true, async (migrator) => {
    const files = new Set(migrationFileNames(migrator.dir));
    for (const m of await migrator.history())
      console.log(`applied  ${m.applied}  ${m.file}${files.has(m.file) ? "" : "  (file missing)"}`);
    const pending = await migrator.pending();
    for (const file of pending) console.log(`pending  ${file}`);
    console.log(`${plural(pending.length, "pending migration")} in ${shown(migrator.dir)}.`);
  });
}
