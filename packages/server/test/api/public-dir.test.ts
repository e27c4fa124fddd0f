import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../harness/server.js";

let site: string;
let server: TestServer;
let noFallback: TestServer;
let bare: TestServer;

/** A GET with the path sent exactly as written (fetch would normalise `..`). */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { path, method: "GET" }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  site = mkdtempSync(join(tmpdir(), "basalt-public-"));
  const pub = join(site, "public");
  mkdirSync(join(pub, "docs"), { recursive: true });
  writeFileSync(join(pub, "index.html"), "<!doctype html><title>my app</title>SPA-INDEX");
  writeFileSync(join(pub, "app.js"), "console.log('app')");
  writeFileSync(join(pub, "docs", "index.html"), "DOCS-INDEX");
  writeFileSync(join(pub, ".env"), "HIDDEN-SECRET");
  writeFileSync(join(site, "outside.txt"), "OUTSIDE-SECRET");
  symlinkSync(join(site, "outside.txt"), join(pub, "link.txt"));
  server = await startServer({ publicDir: pub });
  noFallback = await startServer({ publicDir: pub, indexFallback: false });
  bare = await startServer({ publicDir: join(site, "missing") });
});
afterAll(async () => {
  await Promise.all([server.stop(), noFallback.stop(), bare.stop()]);
  rmSync(site, { recursive: true, force: true });
});

describe("the public folder at / (PocketBase's pb_public)", () => {
  it("serves its files, index.html for / and for folders", async () => {
    const index = await server.fetch("/");
    expect([index.status, await index.text()]).toEqual([
      200,
      "<!doctype html><title>my app</title>SPA-INDEX",
    ]);
    expect(index.headers.get("content-type")).toMatch(/^text\/html/);
    const js = await server.fetch("/app.js");
    expect([js.status, await js.text()]).toEqual([200, "console.log('app')"]);
    expect(js.headers.get("content-type")).toMatch(/javascript/);
    expect(await (await server.fetch("/docs/")).text()).toBe("DOCS-INDEX");
    expect(await (await server.fetch("/docs")).text()).toBe("DOCS-INDEX");
    expect((await server.fetch("/app.js", { method: "HEAD" })).status).toBe(200);
  });

  it("falls back to index.html for client-side routes, not for missing files with an extension", async () => {
    const route = await server.fetch("/settings/profile");
    expect([route.status, await route.text()]).toEqual([
      200,
      "<!doctype html><title>my app</title>SPA-INDEX",
    ]);
    expect((await server.fetch("/missing.js")).status).toBe(404);
    const off = await noFallback.fetch("/settings/profile");
    expect(off.status).toBe(404);
    expect(await (await noFallback.fetch("/")).text()).toContain("SPA-INDEX");
  });

  it("never shadows /api/ or /_/", async () => {
    const health = await server.fetch("/api/health");
    expect(health.status).toBe(200);
    expect(((await health.json()) as { code: number }).code).toBe(200);
    const unknown = await server.fetch("/api/no/such/route");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ status: 404 });
    expect(await (await server.fetch("/api")).text()).not.toContain("SPA-INDEX");
    const dashboard = await server.fetch("/_/");
    expect(await dashboard.text()).not.toContain("SPA-INDEX");
    const dashboardRoute = await server.fetch("/_/no-such-file");
    expect(dashboardRoute.status).toBe(404);
    expect(await dashboardRoute.text()).not.toContain("SPA-INDEX");
  });

  it("is safe against path traversal, hidden files and links out of the folder", async () => {
    for (const path of [
      "/../outside.txt",
      "/..%2foutside.txt",
      "/%2e%2e/outside.txt",
      "/docs/..%2f..%2foutside.txt",
      "/..%5coutside.txt",
      "/.env",
      "/%2eenv",
      "/link.txt",
      "/app.js%00.html",
      "/%E0%A4%A",
    ]) {
      const res = await rawGet(noFallback.url, path);
      expect([400, 404], path).toContain(res.status);
      expect(res.body, path).not.toMatch(/SECRET/);
      // with the fallback on, such paths get the app's index at most, never the file
      expect((await rawGet(server.url, path)).body, path).not.toMatch(/SECRET/);
    }
  });

  it("without the folder, / is a short page saying what runs here", async () => {
    const res = await bare.fetch("/");
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("Basalt is running");
    expect(text).toContain("/api/");
    expect(text).toContain("/_/");
    expect(text).toContain("superuser upsert");
    expect((await bare.fetch("/anything")).status).toBe(404);
  });
});
