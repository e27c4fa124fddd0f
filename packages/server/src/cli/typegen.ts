import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { generateTypes, loadCollectionRows } from "../core/collections/index.js";
import { type Database, openDatabase } from "../db/index.js";
import { BasaltError } from "../errors/index.js";
import { writeTypesFile } from "../hooks/types-file.js";
import { fail } from "./fail.js";
import { graphqlSdl } from "./graphql-schema.js";
import { redactDbUrl } from "./transfer-summary.js";

/** The options `basalt typegen` parses. */
export interface TypegenOptions {
  out: string;
  /** Also write the GraphQL schema (SDL) that `/api/graphql` serves to this file. */
  graphql?: string;
  dir: string;
  db?: string;
}

/**
 * `basalt typegen --out FILE`: writes TypeScript types for the collections of the data folder (or `--db`):
 * records, expand, create and update bodies, and `TypedPocketBase` for the `pocketbase` SDK; with `--graphql
 * FILE`, the GraphQL schema (SDL) too.
 */
export async function runTypegen(opts: TypegenOptions): Promise<void> {
  let db: Database | undefined;
  try {
    const url = opts.db?.trim() ?? "";
    const sqliteFile = join(resolve(opts.dir), "data.db");
    if (!url && !existsSync(sqliteFile))
      throw new BasaltError("BASALT_ERR_CLI_NO_DATA", `(no ${sqliteFile})`);
    db = await openDatabase({ url, sqliteFile });
    const collections = await loadCollectionRows(db);
    await db.close();
    const out = resolve(opts.out);
    writeTypesFile(out, generateTypes(collections));
    const from = url ? `PostgreSQL at ${redactDbUrl(url)}` : sqliteFile;
    console.log(
      `Wrote types for ${collections.filter((c) => !c.name.startsWith("_")).length} collections from ${from} to ${out}.`,
    );
    if (opts.graphql) {
      const sdlFile = resolve(opts.graphql);
      writeFileSync(sdlFile, await graphqlSdl({ dir: opts.dir, db: opts.db }));
      console.log(`Wrote the GraphQL schema (SDL) to ${sdlFile}.`);
    }
  } catch (err) {
    await db?.close().catch(() => undefined);
    fail(err);
  }
}
