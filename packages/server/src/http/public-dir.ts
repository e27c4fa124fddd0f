import { existsSync } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { extname, resolve, sep } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/** How the public folder is served. */
export interface PublicDirOptions {
  /** The folder served at `/` (PocketBase's `pb_public`); nothing is served from it when it does not exist. */
  readonly dir: string;
  /** Whether a missing path without a file extension gets the folder's `index.html` (single-page apps). */
  readonly indexFallback: boolean;
}

const LANDING = `<!doctype html>
<html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Basalt</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}code{background:#8882;padding:0 .2em}</style>
<h1>Basalt is running</h1>
<ul>
<li>The REST API (PocketBase-compatible) is at <a href="/api/health"><code>/api/</code></a>.</li>
<li>The dashboard is at <a href="/_/"><code>/_/</code></a>.</li>
</ul>
<p>No superuser yet? Open the one-time link <code>basalt serve</code> printed, or run
<code>npx basalt superuser upsert EMAIL PASSWORD</code> next to the data folder.</p>
<p>To serve your own site here, put it in the folder <code>basalt_public</code> (or the one <code>--public-dir</code>
names) and restart.</p>
</html>`;

/** Paths the public folder never answers: the API and the dashboard keep their own 404s. */
function reserved(path: string): boolean {
  return /^(api|_)(\/|$)/.test(path);
}

/**
 * The file a URL path names inside `root`, or null: decoded once, no NUL, no `.`/`..` or hidden segments,
 * and (symbolic links resolved) still inside the root. A folder stands for its `index.html`.
 */
async function fileFor(root: string, realRoot: string, urlPath: string): Promise<string | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const segments = decoded.split(/[/\\]/).filter((s) => s !== "");
  if (decoded.includes("\0") || segments.some((s) => s.startsWith("."))) return null;
  let file = resolve(root, ...segments);
  if (file !== root && !file.startsWith(root + sep)) return null;
  try {
    let st = await stat(file);
    if (st.isDirectory()) {
      file = resolve(file, "index.html");
      st = await stat(file);
    }
    if (!st.isFile()) return null;
    const real = await realpath(file);
    return real.startsWith(realRoot + sep) ? real.slice(realRoot.length + 1) : null;
  } catch {
    return null;
  }
}

/**
 * Serves a folder at `/` as PocketBase serves `pb_public`: its files for any path outside `/api/` and `/_/`,
 * with `index.html` for a folder and, when `indexFallback` is on, for a missing path without an extension
 * (client-side routes of a single-page app). Without the folder, `/` shows a short page saying what runs
 * here and where the API and the dashboard are.
 */
export async function registerPublicDir(server: FastifyInstance, opts: PublicDirOptions): Promise<void> {
  const root = resolve(opts.dir);
  if (!existsSync(root)) {
    server.get("/", async (_request, reply) => {
      reply.type("text/html; charset=utf-8").header("cache-control", "no-cache");
      return LANDING;
    });
    return;
  }
  const realRoot = await realpath(root);
  await server.register(async (scope) => {
    await scope.register(fastifyStatic, { root: realRoot, serve: false, dotfiles: "deny", index: false });
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const path = (request.params as { "*": string })["*"] ?? "";
      // a custom route of the hook files or the embedding program is answered before static files
      if (request.customRoute || reserved(path)) return reply.callNotFound();
      let file = await fileFor(root, realRoot, path);
      if (!file && opts.indexFallback && extname(path) === "")
        file = await fileFor(root, realRoot, "index.html");
      if (!file) return reply.callNotFound();
      return reply.sendFile(file);
    };
    scope.get("/*", handler);
  });
}
