import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { App } from "../core/app.js";
import { generateTypes } from "../core/collections/index.js";

/** Writes a file through a temporary sibling, so a reader (an editor, tsc --watch) never sees half of it. */
export function writeTypesFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const partial = `${path}.partial-${process.pid}`;
  writeFileSync(partial, text);
  renameSync(partial, path);
}

/** `--dev` with `typesOut`: writes the collections' types now and again after every collection change. */
export function keepTypesWritten(app: App, path: string): void {
  const write = () => {
    try {
      writeTypesFile(path, generateTypes(app.collections.list()));
    } catch (err) {
      app.log.error({ err, path }, "could not write the collections' types");
    }
  };
  write();
  app.collections.onChange(() => write());
}
