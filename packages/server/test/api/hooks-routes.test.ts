import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MailCapture, startMailCapture } from "../harness/fixtures/mail-capture.js";
import { createUser, userToken } from "../harness/fixtures/users.js";
import { type HooksProject, hooksProject } from "../harness/hooks-project.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";
import { eventually, installEventSource, openSse } from "../harness/sse.js";

installEventSource();

// Custom routes, records from code, mail, realtime hooks; `greeting` is an npm package of the project and
// `./lib/format.ts` a relative module.
const MAIN = `
import type { HookApi } from "basalt";
import { greet } from "greeting";
import { shout } from "./lib/format";

let release: (() => void) | undefined;

export default function (app: HookApi) {
  const { requireAuth, requireSuperuserAuth, requireGuestOnly, bodyLimit, rateLimit } = app.middlewares;
  app.router.get("/api/hello/:name", (e) => ({ message: shout(greet(e.params.name)), q: e.query.q ?? null }));
  const echo = (e: { body: Record<string, unknown>; headers: Record<string, unknown> }) => {
    const doc = e.body.doc as unknown;
    const file = (Array.isArray(doc) ? doc[0] : doc) as { originalName?: string; size?: number } | undefined;
    return { body: { ...e.body, doc: file ? { name: file.originalName, size: file.size } : undefined }, ct: e.headers["content-type"] };
  };
  app.router.post("/api/echo", echo, bodyLimit(64));
  app.router.post("/api/upload", echo);
  app.router.get("/api/me", (e) => ({ id: e.auth?.record.id, collection: e.auth?.collection.name }), requireAuth("users"));
  app.router.get("/api/admin-only", () => ({ ok: true }), requireSuperuserAuth());
  app.router.get("/api/guests", () => ({ ok: true }), requireGuestOnly());
  app.router.get("/api/limited", () => ({ ok: true }), rateLimit("hello"));
  app.router.get("/api/page", (e) => e.html(200, "<h1>Hi</h1>"));
  app.router.get("/landing/:slug", (e) => e.text(200, "custom " + e.params.slug));
  app.router.get("/api/go", (e) => e.redirect("/api/page"));
  app.router.get("/api/stream", async (e) => {
    const { Readable } = await import("node:stream");
    e.stream(200, "text/plain", Readable.from(["a", "b", "c"]));
  });
  app.router.get("/api/download", (e) => e.file(process.env.BASALT_TEST_FILE as string, { name: "report.txt", contentType: "text/plain" }));
  app.router.get("/api/refuse", () => {
    throw new app.errors.ApiError(409, "Already done.", { step: app.errors.fieldError("done", "Done.") });
  });
  app.router.get("/api/boom", () => {
    throw new Error("secret internals");
  });
  app.router.get("/api/slow", () => new Promise<object>((resolve) => { release = () => resolve({ slow: "done" }); }));
  app.router.post("/api/release", () => { release?.(); return { released: true }; });
  app.router.get("/api/search", async (e) => {
    const page = await app.records.list("notes", { filter: "title = {:t}", params: { t: e.query.t ?? "" }, sort: "-created" });
    return { total: page.totalItems, titles: page.items.map((r) => r.title) };
  });
  app.router.get("/api/mine", async (e) => {
    const page = await app.records.as(e.auth).list("notes", { sort: "title" });
    return page.items.map((r) => r.title);
  });
  app.router.post("/api/transfer", async (e) => {
    await app.runInTransaction(async (tx) => {
      await tx.create("notes", { title: String(e.body.a) });
      await tx.create("notes", { title: String(e.body.b) });
    });
    return { ok: true };
  });
  app.router.post("/api/mail", (e) => {
    app.mail.send({ to: String(e.body.to), subject: "Hello from a route", html: "<p>" + greet("mail") + "</p>" });
    return { queued: true };
  });
  app.onRealtimeMessageSend((e) => {
    if (e.name.startsWith("notes") && e.data && typeof e.data === "object") {
      (e.data as { record: Record<string, unknown> }).record.stamped = true;
    }
    return e.next();
  });
  let connects = 0;
  app.onRealtimeConnectRequest((e) => {
    connects++;
    return e.next();
  });
  app.router.get("/api/test/connects", () => ({ connects }));
  app.onRealtimeSubscribeRequest((e) => {
    const subs = e.body.subscriptions;
    if (Array.isArray(subs) && subs.includes("secret")) throw app.errors.forbidden("No secrets.");
    return e.next();
  });
}
`;

let project: HooksProject;
let server: TestServer;
let su: string;
let aliceToken: string;
let mail: MailCapture;

async function call(path: string, init: RequestInit & { json?: unknown; token?: string } = {}) {
  const res = await server.fetch(path, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: body as Record<string, any>, text, headers: res.headers };
}

beforeAll(async () => {
  project = hooksProject(
    { "main.ts": MAIN, "lib/format.ts": "export const shout = (s: string): string => s.toUpperCase();\n" },
    { greeting: 'export const greet = (name) => "hello, " + name;\n' },
  );
  const file = join(project.root, "report.txt");
  writeFileSync(file, "quarterly numbers\n");
  process.env.BASALT_TEST_FILE = file;
  const pub = join(project.root, "public");
  mkdirSync(pub);
  writeFileSync(join(pub, "index.html"), "<p>spa</p>");
  server = await startServer({ hooksDir: project.hooksDir, publicDir: pub });
  su = await superuserToken(server);
  mail = await startMailCapture();
  mail.attach(server);
  const res = await call("/api/collections", {
    method: "POST",
    token: su,
    json: {
      name: "notes",
      type: "base",
      listRule: "@request.auth.id != '' && owner = @request.auth.id",
      viewRule: "@request.auth.id != '' && owner = @request.auth.id",
      fields: [
        { name: "title", type: "text", required: true },
        { name: "owner", type: "relation", collectionId: "_pb_users_auth_", maxSelect: 1 },
        { name: "created", type: "autodate", onCreate: true },
      ],
      indexes: ["CREATE UNIQUE INDEX idx_notes_title ON notes (title)"],
    },
  });
  expect(res.status).toBe(200);
  const aliceId = await createUser(server, "alice@example.com", "alice-password-1");
  aliceToken = await userToken(server, "alice@example.com", "alice-password-1");
  await server.basalt.records.create("notes", { title: "alice's", owner: aliceId });
  await server.basalt.records.create("notes", { title: "nobody's" });
});

afterAll(async () => {
  await server?.stop();
  await mail?.stop();
  project?.remove();
});

describe("custom routes", () => {
  it("path params, query, an npm package and a relative module", async () => {
    const r = await call("/api/hello/ada?q=1");
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ message: "HELLO, ADA", q: "1" });
  });

  it("JSON and multipart bodies; a body over the route's limit is 413", async () => {
    const j = await call("/api/echo", { method: "POST", json: { a: 1 } });
    expect(j.body).toMatchObject({ body: { a: 1 }, ct: "application/json" });
    const form = new FormData();
    form.set("field", "x");
    form.set("doc", new Blob(["12345"]), "doc.txt");
    const m = await call("/api/upload", { method: "POST", body: form });
    expect(m.status).toBe(200);
    expect(m.body.body).toMatchObject({ field: "x", doc: { name: "doc.txt", size: 5 } });
    const big = await call("/api/echo", { method: "POST", json: { a: "x".repeat(200) } });
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ status: 413 });
  });

  it("auth middlewares", async () => {
    expect((await call("/api/me")).status).toBe(401);
    const me = await call("/api/me", { token: aliceToken });
    expect(me.body).toMatchObject({ collection: "users" });
    expect((await call("/api/me", { token: su })).status).toBe(403);
    expect((await call("/api/admin-only", { token: aliceToken })).status).toBe(403);
    expect((await call("/api/admin-only", { token: su })).status).toBe(200);
    expect((await call("/api/guests", { token: aliceToken })).status).toBe(400);
    expect((await call("/api/guests")).status).toBe(200);
  });

  it("a rate-limit label counts under the settings' rules", async () => {
    const set = await call("/api/settings", {
      method: "PATCH",
      token: su,
      json: {
        rateLimits: {
          enabled: true,
          rules: [{ label: "hello", maxRequests: 2, duration: 60, audience: "" }],
        },
      },
    });
    expect(set.status).toBe(200);
    expect((await call("/api/limited")).status).toBe(200);
    expect((await call("/api/limited")).status).toBe(200);
    const third = await call("/api/limited");
    expect(third.status).toBe(429);
    await call("/api/settings", { method: "PATCH", token: su, json: { rateLimits: { enabled: false } } });
  });

  it("HTML, redirects, streams and files", async () => {
    const page = await call("/api/page");
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.text).toBe("<h1>Hi</h1>");
    const go = await server.fetch("/api/go", { redirect: "manual" });
    expect(go.status).toBe(302);
    expect(go.headers.get("location")).toBe("/api/page");
    expect((await call("/api/stream")).text).toBe("abc");
    const file = await call("/api/download");
    expect(file.text).toBe("quarterly numbers\n");
    expect(file.headers.get("content-disposition")).toBe('attachment; filename="report.txt"');
  });

  it("errors in PocketBase's shape; other throws are a bare 500", async () => {
    const r = await call("/api/refuse");
    expect(r.status).toBe(409);
    expect(r.body).toEqual({
      status: 409,
      message: "Already done.",
      data: { step: { code: "done", message: "Done." } },
    });
    const boom = await call("/api/boom");
    expect(boom.status).toBe(500);
    expect(boom.text).not.toContain("secret");
    expect((await call("/api/nothing-here")).status).toBe(404);
  });

  it("built-in routes win over custom ones; custom ones over the public folder", async () => {
    expect((await call("/api/health")).status).toBe(200);
    expect((await call("/landing/spring")).text).toBe("custom spring");
    expect((await call("/some/client/route")).text).toBe("<p>spa</p>");
  });

  it("a slow async route does not hold other requests back", async () => {
    const slow = call("/api/slow");
    // these answer while /api/slow is still waiting for its release
    expect((await call("/api/hello/x")).status).toBe(200);
    expect((await call("/api/release", { method: "POST" })).body).toEqual({ released: true });
    expect((await slow).body).toEqual({ slow: "done" });
  });
});

describe("records and mail from code", () => {
  it("lists as the system with safely bound filter parameters", async () => {
    const r = await call(`/api/search?t=${encodeURIComponent("alice's")}`);
    expect(r.body).toEqual({ total: 1, titles: ["alice's"] });
    const injected = await call(`/api/search?t=${encodeURIComponent("x' || title != '")}`);
    expect(injected.body).toEqual({ total: 0, titles: [] });
  });

  it("acts on behalf of a caller with that caller's rules", async () => {
    expect((await call("/api/mine", { token: aliceToken })).body).toEqual(["alice's"]);
    const guest = await call("/api/mine");
    expect(guest.body).toEqual([]);
  });

  it("runInTransaction: all writes or none", async () => {
    expect((await call("/api/transfer", { method: "POST", json: { a: "t-1", b: "t-2" } })).status).toBe(200);
    const dup = await call("/api/transfer", { method: "POST", json: { a: "t-3", b: "t-1" } });
    expect(dup.status).toBe(400);
    expect(await server.basalt.records.findFirst("notes", "title = 't-3'")).toBeNull();
    expect(await server.basalt.records.findFirst("notes", "title = 't-2'")).not.toBeNull();
  });

  it("sends e-mail with the configured mailer", async () => {
    expect((await call("/api/mail", { method: "POST", json: { to: "bob@example.com" } })).status).toBe(200);
    await server.basalt.app.mail.idle();
    await eventually(() => mail.to("bob@example.com").length === 1, 5000, "mail");
    expect(mail.to("bob@example.com")[0].subject).toBe("Hello from a route");
    expect(mail.to("bob@example.com")[0].body).toContain("hello, mail");
  });
});

describe("realtime hooks", () => {
  it("onRealtimeSubscribeRequest refuses; onRealtimeMessageSend changes what a client receives", async () => {
    const sse = await openSse(server.url);
    try {
      const refused = await call("/api/realtime", {
        method: "POST",
        json: { clientId: sse.clientId, subscriptions: ["secret"] },
      });
      expect(refused.status).toBe(403);
      const ok = await call("/api/realtime", {
        method: "POST",
        token: su,
        json: { clientId: sse.clientId, subscriptions: ["notes/*"] },
      });
      expect(ok.status).toBe(204);
      const next = sse.next("notes/*", 5000);
      await server.basalt.records.create("notes", { title: "live" });
      const frame = await next;
      expect(frame.data).toMatchObject({ action: "create", record: { title: "live", stamped: true } });
      expect((await call("/api/test/connects")).body).toEqual({ connects: 1 });
    } finally {
      sse.close();
    }
  });
});
