import { mkdirSync, readdirSync, realpathSync, renameSync, statSync, writeFileSync } from "node:fs";
import { basename, extname, join, relative, resolve, sep } from "node:path";
import type { Message, Plugin } from "esbuild";
import { lazyImport } from "../util/index.js";

/** The folder inside the hooks folder where compiled bundles are written (ignored by the watcher). */
export const BUILD_DIR = ".basalt";

/** A hook file that does not compile: where and why, as esbuild reports it. */
export class HookCompileError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`hook files do not compile:\n${problems.join("\n")}`);
    this.name = "HookCompileError";
  }
}

/** One compiled hook entry. */
export interface CompiledHook {
  /** The entry's path relative to the hooks folder's parent (`basalt_hooks/main.ts`). */
  readonly name: string;
  /** The written bundle (ES module). */
  readonly outFile: string;
}

/** The entry files of a hooks folder: its top-level `.ts`, `.mts` and `.js` files, by name. */
export function hookEntries(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter(
      (n) => /\.(ts|mts|js|mjs)$/.test(n) && !/\.d\.m?ts$/.test(n) && !/\.(test|spec)\.[mc]?[jt]s$/.test(n),
    )
    .filter((n) => statSync(join(dir, n)).isFile())
    .sort()
    .map((n) => join(dir, n));
}

function describe(m: Message, parent: string): string {
  const loc = m.location;
  if (!loc) return m.text;
  const file = relative(parent, resolve(loc.file));
  return `${file}:${loc.line}:${loc.column + 1}: ${m.text}`;
}

/** Refuses relative or absolute imports that resolve outside the folder (packages stay external). */
function insideOnly(root: string, what: string): Plugin {
  return {
    name: "basalt-hooks-inside-only",
    setup(b) {
      b.onResolve({ filter: /^(\.|\/|[A-Za-z]:\\)/ }, async (args) => {
        if (args.pluginData === "inner") return undefined;
        const found = await b.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: "inner",
        });
        if (found.errors.length) return { errors: found.errors };
        let real = found.path;
        try {
          real = realpathSync(found.path);
        } catch {
          // a virtual or missing path: esbuild reports it itself
        }
        if (real !== root && !real.startsWith(root + sep)) {
          return {
            errors: [
              { text: `"${args.path}" is outside the ${what} folder; ${what} code is loaded only from it` },
            ],
          };
        }
        return { path: found.path };
      });
    },
  };
}

// esbuild is loaded only when a hooks or migrations folder has files to compile (issue 19: start-up memory)
const loadEsbuild = lazyImport("esbuild", "compiling hooks and migrations", () => import("esbuild"));

/**
 * Compiles each entry of a hooks folder into one ES module bundle (relative imports inlined, npm packages
 * left as imports resolved from the user's project, inline source maps so stack traces name the
 * TypeScript lines) written under `<dir>/.basalt/`. Throws HookCompileError listing
 * `file:line:column: message` for each problem. The migrations folder is compiled the same way (`what`
 * names the folder in errors).
 */
export async function compileHooks(dir: string, what = "hooks"): Promise<CompiledHook[]> {
  const root = realpathSync(dir);
  const parent = resolve(root, "..");
  const entries = hookEntries(root);
  if (!entries.length) return [];
  const outDir = join(root, BUILD_DIR);
  const { build } = await loadEsbuild();
  let outputs: { path: string; contents: Uint8Array }[];
  try {
    const result = await build({
      entryPoints: entries,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      sourcemap: "inline",
      write: false,
      outdir: outDir,
      outExtension: { ".js": ".mjs" },
      logLevel: "silent",
      plugins: [insideOnly(root, what)],
    });
    outputs = result.outputFiles;
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors;
    if (Array.isArray(errors) && errors.length)
      throw new HookCompileError(errors.map((m) => describe(m, parent)));
    throw err;
  }
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, ".gitignore"), "*\n");
  // written aside then renamed: another process starting from the same folder never imports half a bundle
  for (const o of outputs) {
    const part = `${o.path}.${process.pid}.part`;
    writeFileSync(part, o.contents);
    renameSync(part, o.path);
  }
  return entries.map((entry) => ({
    name: relative(parent, entry),
    outFile: join(outDir, `${basename(entry, extname(entry))}.mjs`),
  }));
}
