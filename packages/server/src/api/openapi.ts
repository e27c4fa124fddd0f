import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { App } from "../core/app.js";
import { openApiDocument } from "./openapi-document.js";

/** The reference page: Swagger UI from the `swagger-ui-dist` package, served from here (no CDN). */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API reference</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
<div id="ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#ui", deepLinking: true });\n`;

/** The files of the reference page, read once from the installed package. */
function swaggerAssets(): { css: string; js: string } | null {
  try {
    const dir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
    return {
      css: readFileSync(join(dir, "swagger-ui.css"), "utf8"),
      js: readFileSync(join(dir, "swagger-ui-bundle.js"), "utf8"),
    };
  } catch {
    return null;
  }
}

/**
 * `GET /api/openapi.json`: the OpenAPI 3.1 document generated from the collections for the caller (a
 * superuser sees every collection and hidden field; others the collections they may list or view), cached
 * per collections version. `GET /api/docs`: an interactive reference page over it.
 */
export function registerOpenApi(server: FastifyInstance, app: App): void {
  const cache = new Map<string, string>();
  server.get("/api/openapi.json", (request, reply) => {
    const su = request.auth?.isSuperuser === true;
    const title = `${app.settings.get().meta.appName} API`;
    const key = `${app.collections.version}:${su ? "su" : "other"}:${title}`;
    let body = cache.get(key);
    if (!body) {
      if (cache.size > 4) cache.clear();
      body = JSON.stringify(
        openApiDocument(app.collections.list(), {
          superuser: su,
          title,
          version: "0.1.0",
        }),
      );
      cache.set(key, body);
    }
    reply.header("cache-control", "no-store").type("application/json; charset=utf-8").send(body);
  });

  let assets: ReturnType<typeof swaggerAssets> | undefined;
  const asset = (kind: "css" | "js") => {
    assets ??= swaggerAssets();
    return assets?.[kind] ?? null;
  };
  server.get("/api/docs", (_request, reply) => {
    reply.type("text/html; charset=utf-8").send(PAGE);
  });
  server.get("/api/docs/init.js", (_request, reply) => {
    reply.type("text/javascript; charset=utf-8").send(INIT);
  });
  server.get("/api/docs/swagger-ui.css", (_request, reply) => {
    const css = asset("css");
    if (css === null) return reply.status(404).send({ status: 404, message: "Not found.", data: {} });
    return reply.header("cache-control", "public, max-age=86400").type("text/css; charset=utf-8").send(css);
  });
  server.get("/api/docs/swagger-ui-bundle.js", (_request, reply) => {
    const js = asset("js");
    if (js === null) return reply.status(404).send({ status: 404, message: "Not found.", data: {} });
    return reply
      .header("cache-control", "public, max-age=86400")
      .type("text/javascript; charset=utf-8")
      .send(js);
  });
}
