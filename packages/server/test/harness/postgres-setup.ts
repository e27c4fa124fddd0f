import { dropDatabasesStartingWith, runPrefix } from "./dialects.js";

/** Vitest global teardown of the PostgreSQL project: drops every database the run left behind. */
export async function teardown(): Promise<void> {
  await dropDatabasesStartingWith(runPrefix());
}
