import { existsSync } from "node:fs";
import { basename } from "node:path";
import { pathToFileURL } from "node:url";
import type { Logger } from "pino";
import type { App } from "../core/app.js";
import { ApiError, BasaltError } from "../errors/index.js";
import { compileHooks, HookCompileError } from "../hooks/compile-hooks.js";
import { type MigrationApp, migrationApp } from "./migration-app.js";
import { migrationFileNames } from "./migration-files.js";
import {
  type AppliedMigration,
  appliedMigrations,
  ensureMigrationsTable,
  forgetMigration,
  isApplied,
  recordMigration,
} from "./migrations-table.js";

/** The database-wide lock every migration (and the history table's creation) runs under. */
const LOCK = "migrations";

type Step = (app: MigrationApp) => unknown;

/** A migration file's two halves (`down` may be missing: such a migration cannot be reverted). */
interface Migration {
  readonly up: Step;
  readonly down: Step | undefined;
}

/** What a run did, for the CLI's progress lines: `file` started (`phase` "start") or finished ("done"). */
export type MigrationProgress = (file: string, phase: "start" | "done" | "skipped", ms: number) => void;

/** Why a migration failed, in one line: an API error's field messages included. */
function describeFailure(err: unknown): string {
  if (err instanceof ApiError) {
    const data = Object.keys(err.data).length ? ` ${JSON.stringify(err.data)}` : "";
    return `${err.message}${data}`;
  }
  return err instanceof Error ? err.message : String(err);
}

let generation = 0;

/**
 * Applies and reverts the migration files of a folder on an app's database. Each file runs in one
 * transaction together with its history row in `_migrations`, under a database-wide lock: instances starting
 * together on one PostgreSQL database apply each file once (the second finds it recorded), and a file that
 * throws rolls back entirely and stops the run.
 */
export class Migrator {
  constructor(
    private readonly app: App,
    readonly dir: string,
    private readonly log: Logger = app.log,
  ) {}

  /** Creates the history table when missing. */
  async ensureTable(): Promise<void> {
    await this.app.db.lockedTransaction(LOCK, (tx) => ensureMigrationsTable(tx));
  }

  /** The history, the last applied last. */
  history(): Promise<AppliedMigration[]> {
    return appliedMigrations(this.app.db);
  }

  /** The files not applied yet, in the order `up` applies them. */
  async pending(): Promise<string[]> {
    const applied = new Set((await this.history()).map((m) => m.file));
    return migrationFileNames(this.dir).filter((f) => !applied.has(f));
  }

  /** Applies every pending file in name order; returns the files this call applied. */
  async up(progress?: MigrationProgress): Promise<string[]> {
    await this.ensureTable();
    const pending = await this.pending();
    if (!pending.length) return [];
    const modules = await this.load(pending);
    const done: string[] = [];
    for (const file of pending) {
      const started = performance.now();
      progress?.(file, "start", 0);
      const ran = await this.step(file, async (tx) => {
        if (await isApplied(tx, file)) return false; // another instance applied it meanwhile
        await (modules.get(file) as Migration).up(migrationApp(this.app, tx, this.log));
        await recordMigration(tx, file);
        return true;
      });
      progress?.(file, ran ? "done" : "skipped", performance.now() - started);
      if (ran) {
        done.push(file);
        this.log.info({ file }, "migration applied");
      }
    }
    return done;
  }

  /** Reverts the last `count` applied migrations, the last applied first; returns the files reverted. */
  async down(count: number, progress?: MigrationProgress): Promise<string[]> {
    await this.ensureTable();
    const last = (await this.history()).slice(-count).reverse();
    if (!last.length) return [];
    const present = new Set(migrationFileNames(this.dir));
    const missing = last.filter((m) => !present.has(m.file));
    if (missing.length) {
      throw new BasaltError(
        "BASALT_ERR_MIGRATION_MISSING_FILE",
        `${missing.map((m) => m.file).join(", ")} (in ${this.dir}); run "basalt migrate history-sync" to forget it.`,
      );
    }
    const modules = await this.load(last.map((m) => m.file));
    for (const { file } of last) {
      if (!(modules.get(file) as Migration).down)
        throw new BasaltError(
          "BASALT_ERR_MIGRATION_NO_DOWN",
          `${file} exports no down(app); nothing was reverted.`,
        );
    }
    const done: string[] = [];
    for (const { file } of last) {
      const started = performance.now();
      progress?.(file, "start", 0);
      const ran = await this.step(file, async (tx) => {
        if (!(await isApplied(tx, file))) return false;
        await (modules.get(file) as Migration).down!(migrationApp(this.app, tx, this.log));
        await forgetMigration(tx, file);
        return true;
      });
      progress?.(file, ran ? "done" : "skipped", performance.now() - started);
      if (ran) {
        done.push(file);
        this.log.info({ file }, "migration reverted");
      }
    }
    return done;
  }

  /** Removes the history rows of files no longer in the folder; returns their names. */
  async historySync(): Promise<string[]> {
    await this.ensureTable();
    const present = new Set(migrationFileNames(this.dir));
    return this.app.db.lockedTransaction(LOCK, async (tx) => {
      const gone = (await appliedMigrations(tx)).filter((m) => !present.has(m.file)).map((m) => m.file);
      for (const file of gone) await forgetMigration(tx, file);
      return gone;
    });
  }

  /** Records a file as applied without running it (it describes a change already made). */
  async markApplied(file: string): Promise<void> {
    await this.app.db.lockedTransaction(LOCK, async (tx) => {
      await ensureMigrationsTable(tx);
      if (!(await isApplied(tx, file))) await recordMigration(tx, file);
    });
  }

  /**
   * One file's transaction: the collections cache is re-read inside it first (another instance may have
   * migrated meanwhile), and the collections' listeners hear of the changes only after it commits.
   */
  private async step(
    file: string,
    fn: (tx: Parameters<Parameters<App["db"]["lockedTransaction"]>[1]>[0]) => Promise<boolean>,
  ): Promise<boolean> {
    try {
      return await this.app.collections.deferChanges(() =>
        this.app.db.lockedTransaction(LOCK, async (tx) => {
          await this.app.collections.reload();
          return fn(tx);
        }),
      );
    } catch (err) {
      throw new BasaltError("BASALT_ERR_MIGRATION_FAILED", `${file}: ${describeFailure(err)}`, err);
    }
  }

  /** Compiles the folder (TypeScript too, as the hook files are) and imports the named files. */
  private async load(files: string[]): Promise<Map<string, Migration>> {
    if (!existsSync(this.dir)) return new Map();
    process.setSourceMapsEnabled(true);
    let compiled: Awaited<ReturnType<typeof compileHooks>>;
    try {
      compiled = await compileHooks(this.dir, "migrations");
    } catch (err) {
      if (err instanceof HookCompileError)
        throw new BasaltError("BASALT_ERR_MIGRATION_COMPILE", `\n${err.problems.join("\n")}`, err);
      throw err;
    }
    const byName = new Map(compiled.map((c) => [basename(c.name), c.outFile]));
    const gen = ++generation;
    const out = new Map<string, Migration>();
    for (const file of files) {
      const outFile = byName.get(file);
      if (!outFile) throw new BasaltError("BASALT_ERR_MIGRATION_MISSING_FILE", `${file} (in ${this.dir}).`);
      let mod: Record<string, unknown>;
      try {
        mod = (await import(`${pathToFileURL(outFile).href}?v=${gen}`)) as Record<string, unknown>;
      } catch (err) {
        throw new BasaltError("BASALT_ERR_MIGRATION_FILE", `${file}: ${describeFailure(err)}`, err);
      }
      out.set(file, readMigration(file, mod));
    }
    return out;
  }
}

/** `export default { up, down }`, or `export function up` / `export function down`. */
function readMigration(file: string, mod: Record<string, unknown>): Migration {
  const source = (mod.default && typeof mod.default === "object" ? mod.default : mod) as Record<
    string,
    unknown
  >;
  const { up, down } = source;
  if (typeof up !== "function") {
    throw new BasaltError(
      "BASALT_ERR_MIGRATION_FILE",
      `${file} exports no up(app): write "export default { async up(app) {…}, async down(app) {…} }".`,
    );
  }
  if (down !== undefined && typeof down !== "function")
    throw new BasaltError("BASALT_ERR_MIGRATION_FILE", `${file}: down must be a function.`);
  return { up: up as Step, down: down as Step | undefined };
}
