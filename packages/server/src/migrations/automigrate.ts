import { basename } from "node:path";
import type { Logger } from "pino";
import type { App } from "../core/app.js";
import { type Collection, collectionToJSON } from "../core/collections/index.js";
import { nowDateTime } from "../util/index.js";
import { writeMigrationFile } from "./migration-files.js";
import type { Migrator } from "./migrator.js";

const json = (value: unknown) => JSON.stringify(value, null, 2);

/** The same collection JSON, ignoring its `updated` time. */
function sameDefinition(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return json({ ...a, updated: "" }) === json({ ...b, updated: "" });
}

/**
 * The source of a migration file replaying one collection change, and its label. The collections are
 * snapshotted as the API returns them, so every option the API knows travels as it is; `up` makes the
 * change, `down` undoes it.
 */
export function changeMigration(
  before: Collection | undefined,
  after: Collection | undefined,
): { label: string; source: string } | null {
  const was = before ? collectionToJSON(before) : undefined;
  const now = after ? collectionToJSON(after) : undefined;
  const head = (what: string) =>
    `// Written by Basalt (automigrate) on ${nowDateTime()}: ${what}.\n` +
    "// up makes the change, down reverts it; see the README's Migrations section.\n\n";
  if (!was && now) {
    return {
      label: `created_${now.name}`,
      source:
        head(`the collection "${now.name}" was created`) +
        `const snapshot = ${json(now)};\n\n` +
        "export default {\n" +
        "  async up(app) {\n    await app.collections.import([snapshot]);\n  },\n" +
        "  async down(app) {\n    await app.collections.delete(snapshot.id);\n  },\n};\n",
    };
  }
  if (was && !now) {
    return {
      label: `deleted_${was.name}`,
      source:
        head(`the collection "${was.name}" was deleted`) +
        `const snapshot = ${json(was)};\n\n` +
        "export default {\n" +
        "  async up(app) {\n    await app.collections.delete(snapshot.id);\n  },\n" +
        "  async down(app) {\n    await app.collections.import([snapshot]);\n  },\n};\n",
    };
  }
  if (was && now) {
    if (sameDefinition(was, now)) return null;
    return {
      label: `updated_${now.name}`,
      source:
        head(`the collection "${now.name}" was updated`) +
        `const before = ${json(was)};\n\nconst after = ${json(now)};\n\n` +
        "export default {\n" +
        "  async up(app) {\n    await app.collections.update(before.id, after);\n  },\n" +
        "  async down(app) {\n    await app.collections.update(after.id, before);\n  },\n};\n",
    };
  }
  return null;
}

/** The source of `basalt migrate collections`: imports every current collection. */
export function snapshotMigration(app: App): string {
  const all = app.collections.list().map(collectionToJSON);
  return (
    `// Written by "basalt migrate collections" on ${nowDateTime()}: a snapshot of all ${all.length} collections.\n` +
    "// up creates or updates each of them (matched by id); down leaves them as they are.\n\n" +
    `const snapshot = ${json(all)};\n\n` +
    "export default {\n" +
    "  async up(app) {\n    await app.collections.import(snapshot, false);\n  },\n" +
    "  async down() {\n    // a snapshot is not reverted: the collections it imported stay\n  },\n};\n"
  );
}

/**
 * Automigrate (`--dev`): each committed collection change made through the API or the dashboard writes a
 * migration file replaying it into the migrations folder, recorded as applied (this database has the change
 * already). A file that cannot be written is logged; the change itself stands.
 */
export function automigrate(app: App, migrator: Migrator, log: Logger): void {
  app.collections.onChange(async ({ before, after }) => {
    let file: string | undefined;
    try {
      const change = changeMigration(before, after);
      if (!change) return;
      // named (and so ordered) synchronously, in the order the changes were made
      file = writeMigrationFile(migrator.dir, change.label, "js", change.source);
      await migrator.markApplied(basename(file));
      log.info({ file }, "automigrate: migration file written");
    } catch (err) {
      log.error({ err, file }, "automigrate: the migration file could not be written");
    }
  });
}
