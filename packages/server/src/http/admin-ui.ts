import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

/**
 * Where the dashboard's build lives: `dist/admin` of this package (packages/admin builds into it), found
 * from this module both when running from `dist/http` and from `src/http` (tests).
 */
export const ADMIN_DIR = fileURLToPath(new URL("../../dist/admin/", import.meta.url));

/** The dashboard's Content-Security-Policy: its own scripts only, API calls to this origin only. */
export const ADMIN_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Basalt</title>
<p>The dashboard is not built. Run <code>npm run build</code> in the Basalt checkout, then restart.</p>`;

/**
 * Serves the admin dashboard at `/_/` (issue 17): the files of `dir` with pre-compressed variants, hashed
 * assets cached for a year, `index.html` always revalidated. Only `/_/…` is served, so `/api/` is never
 * shadowed; `decorateReply: false` leaves `reply.sendFile` to other static roots.
 */
export async function registerAdminUi(server: FastifyInstance, dir: string = ADMIN_DIR): Promise<void> {
  if (!existsSync(join(dir, "index.html"))) {
    server.get("/_/", async (_request, reply) => {
      reply.status(503).type("text/html; charset=utf-8").header("cache-control", "no-store");
      return NOT_BUILT;
    });
    return;
  }
  await server.register(fastifyStatic, {
    root: dir,
    prefix: "/_/",
    decorateReply: false,
    wildcard: false,
    index: ["index.html"],
    preCompressed: true,
    cacheControl: false,
    dotfiles: "deny",
    setHeaders(res, path) {
      res.setHeader("content-security-policy", ADMIN_CSP);
      res.setHeader(
        "cache-control",
        /[\\/]assets[\\/]/.test(path) ? "public, max-age=31536000, immutable" : "no-cache",
      );
    },
  });
}
