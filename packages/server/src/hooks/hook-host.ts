import { existsSync, type FSWatcher, watch } from "node:fs";
import { resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import type { App } from "../core/app.js";
import { BUILD_DIR, type CompiledHook, compileHooks, HookCompileError } from "./compile-hooks.js";
import { HookScope } from "./hook-api.js";
import { toHookFailure } from "./hook-errors.js";
import type { RouteMatch } from "./router.js";

/** What a hook module exports: a default function or `onLoad`, called with the hook API. */
type HookModule = { default?: unknown; onLoad?: unknown };

interface Loaded {
  readonly scope: HookScope;
  readonly modules: { name: string; setup: (api: HookScope["api"]) => unknown }[];
}

/** How long file changes settle before a `--dev` reload. */
const DEBOUNCE_MS = 150;

/**
 * Owns the app's hook code: the embedding program's scope (`code`, never reloaded) and the hook files'
 * scope, compiled and loaded from the hooks folder at start and, in `--dev`, again whenever a file there
 * changes. A reload swaps hooks and routes at once without touching open connections; a compile error keeps
 * the previous version running (and is printed as `file:line:column: message`).
 */
export class HookHost {
  readonly code: HookScope;
  private loaded: Loaded | null = null;
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private generation = 0;
  private reloading: Promise<void> = Promise.resolve();
  /** Resolved after each reload attempt (tests wait on it). */
  private listeners: ((outcome: "loaded" | "failed") => void)[] = [];

  constructor(
    private readonly app: App,
    /** The hooks folder, or null when there is none. */
    readonly dir: string | null,
  ) {
    this.code = new HookScope(app, null);
  }

  /** The custom route for a request: the embedding program's routes first, then the hook files'. */
  match(method: string, url: string): RouteMatch | null {
    return this.code.router.match(method, url) ?? this.loaded?.scope.router.match(method, url) ?? null;
  }

  /** The hook files currently loaded (names relative to the hooks folder's parent). */
  get files(): string[] {
    return this.loaded?.modules.map((m) => m.name) ?? [];
  }

  /** Compiles and loads the hook files; throws HookCompileError (or the setup's error) when they fail. */
  async load(): Promise<void> {
    if (!this.dir || !existsSync(this.dir)) return;
    process.setSourceMapsEnabled(true);
    const compiled = await compileHooks(this.dir);
    const modules = await this.importAll(compiled);
    await this.swap(modules);
  }

  private async importAll(compiled: CompiledHook[]): Promise<Loaded["modules"]> {
    const gen = ++this.generation;
    const out: Loaded["modules"] = [];
    for (const c of compiled) {
      const mod = (await import(`${pathToFileURL(c.outFile).href}?v=${gen}`)) as HookModule;
      const setup = typeof mod.default === "function" ? mod.default : mod.onLoad;
      if (typeof setup !== "function") {
        this.app.log.warn(
          { file: c.name },
          "hook file exports no default function or onLoad(app): nothing bound",
        );
        continue;
      }
      out.push({ name: c.name, setup: setup as (api: HookScope["api"]) => unknown });
    }
    return out;
  }

  /** Replaces the loaded hook files by `modules`; on a setup failure the previous ones are restored. */
  private async swap(modules: Loaded["modules"]): Promise<void> {
    const previous = this.loaded;
    previous?.scope.unbindHooks();
    const scope = new HookScope(this.app, this.dir);
    try {
      for (const m of modules) await m.setup(scope.api);
    } catch (err) {
      scope.unbindHooks();
      if (previous) {
        // the previous files again, in a fresh scope (their routes are registered anew)
        const restored = new HookScope(this.app, this.dir);
        for (const m of previous.modules) await m.setup(restored.api);
        this.loaded = { scope: restored, modules: previous.modules };
        await scope.releaseJobs(restored);
      } else await scope.releaseJobs();
      throw toHookFailure(err, "hook setup", this.app.log, this.dir);
    }
    this.loaded = { scope, modules };
    await previous?.scope.releaseJobs(scope);
  }

  /** Watches the hooks folder and reloads on change (`--dev`). */
  watch(): void {
    if (!this.dir || this.watcher || !existsSync(this.dir)) return;
    const build = `${BUILD_DIR}`;
    this.watcher = watch(this.dir, { recursive: true }, (_event, file) => {
      const name = String(file ?? "");
      if (name === build || name.startsWith(build + sep) || name.includes(`node_modules${sep}`)) return;
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.timer = null;
        this.reloading = this.reloading.then(() => this.reload());
      }, DEBOUNCE_MS);
    });
  }

  /** One `--dev` reload: compile, import, swap; any failure is printed and the previous version stays. */
  async reload(): Promise<void> {
    const dir = this.dir as string;
    try {
      const compiled = await compileHooks(dir);
      await this.swap(await this.importAll(compiled));
      this.app.log.info({ files: this.files }, "hook files reloaded");
      this.tell("loaded");
    } catch (err) {
      if (err instanceof HookCompileError) {
        for (const p of err.problems) process.stderr.write(`hook compile error: ${p}\n`);
        this.app.log.error(
          { problems: err.problems },
          "hook files do not compile; the previous version keeps running",
        );
      } else {
        this.app.log.error({ err }, "hook files failed to load; the previous version keeps running");
      }
      this.tell("failed");
    }
  }

  /** Resolves after the next reload attempt with its outcome (tests). */
  nextReload(): Promise<"loaded" | "failed"> {
    return new Promise((r) => this.listeners.push(r));
  }

  private tell(outcome: "loaded" | "failed"): void {
    const l = this.listeners;
    this.listeners = [];
    for (const r of l) r(outcome);
  }

  /** Stops watching and waits for a reload in progress. */
  async close(): Promise<void> {
    this.watcher?.close();
    this.watcher = null;
    if (this.timer) clearTimeout(this.timer);
    await this.reloading;
  }
}

/** The hooks folder for a config: `hooksDir` when set, else `basalt_hooks` beside the data folder. */
export function hooksDirFor(config: { hooksDir?: string; dataDir: string }): string {
  return config.hooksDir ? resolve(config.hooksDir) : resolve(config.dataDir, "..", "basalt_hooks");
}
