export { automigrate, changeMigration, snapshotMigration } from "./automigrate.js";
export type { CollectionJSON, MigrationApp, MigrationDb } from "./migration-app.js";
export {
  MIGRATIONS_DIR_NAME,
  migrationFileNames,
  migrationLabel,
  migrationsDirFor,
  writeMigrationFile,
} from "./migration-files.js";
export { type AppliedMigration, MIGRATIONS_TABLE } from "./migrations-table.js";
export { type MigrationProgress, Migrator } from "./migrator.js";
