import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pino } from "pino";
import { openApp } from "../core/app.js";
import { DEFAULT_CONFIG } from "../core/config.js";
import { BasaltError } from "../errors/index.js";
import { encryptionFrom } from "./encryption.js";
import { fail } from "./fail.js";
import { holdsData } from "./preflight.js";

/** The options `basalt graphql-schema` parses. */
export interface GraphqlSchemaOptions {
  dir: string;
  db?: string;
  encryptionEnv?: string;
  /** A file to write the SDL to; absent prints it. */
  out?: string;
}

/**
 * `basalt graphql-schema`: prints (or writes to `--out`) the GraphQL schema, in SDL, that `/api/graphql`
 * serves for the collections of the data folder (or `--db`), for client code generators.
 */
export async function runGraphqlSchema(opts: GraphqlSchemaOptions): Promise<void> {
  try {
    const sdl = await graphqlSdl(opts);
    if (opts.out) {
      writeFileSync(opts.out, sdl);
      console.log(`Wrote the GraphQL schema to ${opts.out}.`);
    } else process.stdout.write(sdl);
  } catch (err) {
    fail(err);
  }
}

/** The GraphQL schema (SDL, newline-terminated) that `/api/graphql` serves for a data folder or `db`. */
export async function graphqlSdl(opts: {
  dir: string;
  db?: string;
  encryptionEnv?: string;
}): Promise<string> {
  if (!opts.db && !holdsData(opts.dir))
    throw new BasaltError("BASALT_ERR_CLI_NO_DATA", `(${resolve(opts.dir)})`);
  const app = await openApp(
    { ...DEFAULT_CONFIG, dataDir: resolve(opts.dir), dbUrl: opts.db ?? "", ...encryptionFrom(opts) },
    pino({ level: "silent" }),
  );
  try {
    return `${(await app.graphql()).sdl()}\n`;
  } finally {
    await app.close();
  }
}
