import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** A throwaway project folder: `basalt_hooks/` with the given files, and `node_modules/` packages. */
export interface HooksProject {
  readonly root: string;
  readonly hooksDir: string;
  /** Writes (or rewrites) a file under `basalt_hooks/`. */
  write(name: string, text: string): void;
  remove(): void;
}

/**
 * Creates a project folder holding hook files (paths under `basalt_hooks/`) and small npm packages under
 * `node_modules/` (name → ES module source), as a user's project would have them.
 */
export function hooksProject(
  files: Record<string, string>,
  packages: Record<string, string> = {},
): HooksProject {
  const root = mkdtempSync(join(tmpdir(), "basalt-hooks-"));
  const hooksDir = join(root, "basalt_hooks");
  const write = (name: string, text: string) => {
    const path = join(hooksDir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  };
  mkdirSync(hooksDir, { recursive: true });
  for (const [name, text] of Object.entries(files)) write(name, text);
  for (const [name, source] of Object.entries(packages)) {
    const dir = join(root, "node_modules", name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({ name, version: "1.0.0", type: "module", exports: "./index.js" }),
    );
    writeFileSync(join(dir, "index.js"), source);
  }
  return { root, hooksDir, write, remove: () => rmSync(root, { recursive: true, force: true }) };
}
