import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createApp } from "../../src/main.js";
import { type HooksProject, hooksProject } from "../harness/hooks-project.js";
import { startServer, type TestServer } from "../harness/server.js";
import { openSse } from "../harness/sse.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

function project(files: Record<string, string>): HooksProject {
  const p = hooksProject(files);
  cleanups.push(() => p.remove());
  return p;
}

async function serve(
  p: HooksProject,
  config: Record<string, unknown> = {},
  logger?: pino.Logger,
): Promise<TestServer> {
  const s = await startServer({ hooksDir: p.hooksDir, ...config }, logger ? { logger } : {});
  cleanups.push(() => s.stop());
  return s;
}

const VERSION = (v: string) => `
import type { HookApi } from "basalt";
export default function (app: HookApi) {
  app.router.get("/api/version", () => ({ version: "${v}" }));
}
`;

function logSink(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      out.push(String(chunk));
      done();
    },
  });
  return {
    logger: pino({ level: "info" }, stream),
    lines: () =>
      out
        .flatMap((l) => l.split("\n"))
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe("hook files", () => {
  it("a compile error refuses to start, naming file:line:column and the message", async () => {
    const p = project({ "main.ts": "export default function (app) {\n  const x: number = ;\n}\n" });
    const dataDir = mkdtempSync(join(tmpdir(), "basalt-test-"));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const started = createApp(
      { dataDir, hooksDir: p.hooksDir, http: "127.0.0.1:0" },
      pino({ level: "silent" }),
    );
    await expect(started).rejects.toMatchObject({ code: "BASALT_ERR_HOOKS_COMPILE" });
    await expect(started).rejects.toThrow(/basalt_hooks\/main\.ts:2:\d+: Unexpected ";"/);
  });

  it("hook code is never loaded from outside the hooks folder", async () => {
    const p = project({ "main.ts": 'import "../outside";\nexport default function () {}\n' });
    p.write("../outside.ts", "console.log('outside');\n");
    const dataDir = mkdtempSync(join(tmpdir(), "basalt-test-"));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const started = createApp(
      { dataDir, hooksDir: p.hooksDir, http: "127.0.0.1:0" },
      pino({ level: "silent" }),
    );
    await expect(started).rejects.toThrow(/outside the hooks folder/);
  });

  it("a throw in a hook logs the hook file and line; the client gets a bare 500", async () => {
    const p = project({
      "main.ts": [
        'import type { HookApi } from "basalt";',
        "export default function (app: HookApi) {",
        '  app.router.get("/api/fail", () => {',
        '    throw new Error("database password is hunter2");',
        "  });",
        "}",
        "",
      ].join("\n"),
    });
    const sink = logSink();
    const s = await serve(p, {}, sink.logger);
    const res = await s.fetch("/api/fail");
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain("hunter2");
    const entry = sink.lines().find((l) => l.hook === "GET /api/fail");
    expect(entry?.at).toMatch(/^basalt_hooks\/main\.ts:4:\d+$/);
  });

  it("a throw under handlers that only pass e.next() on is logged at its line and rolls the write back", async () => {
    // the outer handlers only pass the chain on; the inner handler's throw is logged at its own line, the
    // side write it made through e.tx rolls back with the create, and nothing succeeds after it
    const p = project({
      "main.ts": [
        'import type { HookApi } from "basalt";',
        "let succeeded = 0;",
        "export default function (app: HookApi) {",
        "  app.onRecordCreateRequest((e) => e.next());",
        "  app.onRecordCreate((e) => e.next());",
        "  app.onRecordCreate(async (e) => {",
        '    await e.tx.create("sides", { title: "side " + e.record.title });',
        '    throw new Error("database password is hunter2");',
        '  }, { priority: 1, collections: ["notes"] });',
        "  app.onRecordAfterCreateSuccess((e) => {",
        "    succeeded++;",
        "    return e.next();",
        "  });",
        '  app.router.get("/api/succeeded", () => ({ succeeded }));',
        "}",
        "",
      ].join("\n"),
    });
    const sink = logSink();
    const s = await serve(p, {}, sink.logger);
    for (const name of ["notes", "sides"]) {
      await s.basalt.collections.create({
        name,
        type: "base",
        createRule: "",
        fields: [{ name: "title", type: "text" }],
      });
    }
    const res = await s.fetch("/api/collections/notes/records", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ title: "a" }),
    });
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain("hunter2");
    const entry = sink.lines().find((l) => l.hook === "onRecordCreate");
    expect(entry?.at).toMatch(/^basalt_hooks\/main\.ts:8:\d+$/);
    expect((await s.basalt.records.list("notes")).totalItems).toBe(0);
    expect((await s.basalt.records.list("sides")).totalItems).toBe(0);
    expect(await (await s.fetch("/api/succeeded")).json()).toEqual({ succeeded: 0 });
  });

  it("--dev reloads on change without dropping connections; a compile error keeps the previous version", async () => {
    const p = project({ "main.ts": VERSION("1") });
    const s = await serve(p, { dev: true });
    expect(await (await s.fetch("/api/version")).json()).toEqual({ version: "1" });
    const sse = await openSse(s.url);
    cleanups.push(() => sse.close());
    let closed = false;
    void sse.closed.then(() => {
      closed = true;
    });

    let reloaded = s.basalt.hookFiles.nextReload();
    p.write("main.ts", VERSION("2"));
    expect(await reloaded).toBe("loaded");
    expect(await (await s.fetch("/api/version")).json()).toEqual({ version: "2" });

    reloaded = s.basalt.hookFiles.nextReload();
    p.write("main.ts", "export default function (app) {\n  app.router.get(\n");
    expect(await reloaded).toBe("failed");
    expect(await (await s.fetch("/api/version")).json()).toEqual({ version: "2" });

    reloaded = s.basalt.hookFiles.nextReload();
    p.write("main.ts", VERSION("3"));
    expect(await reloaded).toBe("loaded");
    expect(await (await s.fetch("/api/version")).json()).toEqual({ version: "3" });
    expect(closed).toBe(false);
    expect(s.basalt.app.realtime.size).toBe(1);
  });
});
