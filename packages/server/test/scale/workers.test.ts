import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import PocketBase from "pocketbase";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BIN, freePort } from "../cli/cli-helpers.js";
import { createTestDatabase, type TestDatabase } from "../harness/dialects.js";
import { SUPERUSER } from "../harness/server.js";
import { installEventSource, openSse, type RawSse } from "../harness/sse.js";
import { waitFor } from "../harness/wait.js";
import { postgresAvailable } from "./pg-helpers.js";

// `basalt serve --workers 2` (issue 19), as real processes on SQLite and on PostgreSQL. A hook file tells
// which worker served a request (its pid, from the public hooks API: nothing in the server is test-only).
// Workers share accepted connections round-robin, so requests on fresh connections alternate between them;
// every check that needs both workers loops until both have answered.
const HOOKS = `
import { appendFileSync } from "node:fs";

export default function (app: any) {
  app.router.get("/api/test/pid", () => ({ pid: process.pid }));
  app.router.get("/api/test/limited", () => ({ pid: process.pid }));
  app.router.get("/api/test/slow", async () => {
    appendFileSync("slow-started.log", process.pid + "\\n");
    await new Promise((r) => setTimeout(r, 1500));
    return { pid: process.pid };
  });
  app.onRecordCreate((e: any) => {
    e.record.pid = String(process.pid);
    return e.next();
  }, { collections: ["notes"] });
}
`;

installEventSource();
const pgUp = await postgresAvailable("Workers tests on PostgreSQL");
const stores = pgUp ? (["sqlite", "postgres"] as const) : (["sqlite"] as const);

interface Answer {
  status: number;
  body: any;
}

/** One HTTP request; on a fresh connection unless an agent is given. */
function call(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; json?: unknown; agent?: Agent } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = opts.json === undefined ? undefined : JSON.stringify(opts.json);
    const req = request(
      `${base}${path}`,
      {
        method,
        agent: opts.agent ?? false,
        headers: {
          ...(payload ? { "content-type": "application/json" } : {}),
          ...(opts.token ? { authorization: opts.token } : {}),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

interface Primary {
  child: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<number | null>;
}

async function startPrimary(cwd: string, db: TestDatabase | undefined): Promise<Primary> {
  const port = await freePort();
  const args = [BIN, "serve", "--workers", "2", "--http", `127.0.0.1:${port}`, "--dir", "data"];
  if (db) args.push("--db", db.url);
  const child = spawn(process.execPath, [...args, "--log-level", "warn", "--shutdown-timeout", "5000"], {
    cwd,
    env: {
      ...process.env,
      BASALT_SUPERUSER_EMAIL: SUPERUSER.email,
      BASALT_SUPERUSER_PASSWORD: SUPERUSER.password,
    },
  });
  let out = "";
  child.stdout?.on("data", (d) => (out += d));
  child.stderr?.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await waitFor(
    () => out.includes("Basalt serving") || child.exitCode !== null,
    "the workers to start",
    90_000,
  );
  if (!out.includes("Basalt serving")) throw new Error(`serve --workers failed: ${out}`);
  return { child, url: `http://127.0.0.1:${port}`, output: () => out, exited };
}

/** The parent pid of a process, from /proc. */
function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pids of the workers, asked on fresh connections until `n` distinct ones have answered. */
async function workerPids(url: string, n = 2): Promise<number[]> {
  const seen = new Set<number>();
  for (let i = 0; i < 60 && seen.size < n; i++) {
    const res = await call(url, "GET", "/api/test/pid");
    expect(res.status).toBe(200);
    seen.add(res.body.pid);
  }
  return [...seen];
}

describe.each(stores)("basalt serve --workers 2 on %s", (store) => {
  let cwd: string;
  let db: TestDatabase | undefined;
  let primary: Primary;
  let token: string;
  const streams: RawSse[] = [];
  const sdks: PocketBase[] = [];

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), "basalt-workers-"));
    mkdirSync(join(cwd, "basalt_hooks"));
    writeFileSync(join(cwd, "basalt_hooks", "main.ts"), HOOKS);
    if (store === "postgres") db = await createTestDatabase();
    primary = await startPrimary(cwd, db);
    const auth = await call(primary.url, "POST", "/api/collections/_superusers/auth-with-password", {
      json: { identity: SUPERUSER.email, password: SUPERUSER.password },
    });
    expect(auth.status).toBe(200);
    token = auth.body.token;
  }, 120_000);

  afterEach((context) => {
    // what the primary and its workers printed is the first thing to read when a test here fails
    if (context.task.result?.state === "fail") console.error(primary?.output());
  });

  afterAll(async () => {
    for (const s of streams) s.close();
    for (const pb of sdks) pb.realtime.unsubscribe().catch(() => undefined);
    if (primary && primary.child.exitCode === null) {
      primary.child.kill("SIGKILL");
      await primary.exited;
    }
    // a worker left behind by a failed test would hold the database open
    for (const pid of primaryPids) if (alive(pid)) process.kill(pid, "SIGKILL");
    rmSync(cwd, { recursive: true, force: true });
    await db?.drop();
  });
  const primaryPids = new Set<number>();

  it("serves from two worker processes of the primary, after start-up work done once", async () => {
    const pids = await workerPids(primary.url);
    for (const pid of pids) primaryPids.add(pid);
    expect(pids).toHaveLength(2);
    expect(pids).not.toContain(primary.child.pid);
    for (const pid of pids) expect(parentOf(pid)).toBe(primary.child.pid);
    const out = primary.output();
    expect(out.split("Basalt serving").length - 1).toBe(1);
    expect(out).toContain("(2 worker processes)");
    expect(out.split(`Superuser ${SUPERUSER.email} created`).length - 1).toBe(1);
  });

  it("serves a collection created through one worker from the other at once", async () => {
    const created = await call(primary.url, "POST", "/api/collections", {
      token,
      json: {
        name: "notes",
        type: "base",
        listRule: "",
        viewRule: "",
        createRule: "",
        fields: [
          { name: "text", type: "text" },
          { name: "pid", type: "text" },
        ],
      },
    });
    expect(created.status).toBe(200);
    // the creating worker answered once the other had reloaded (the primary relays the change and
    // confirms it), on PostgreSQL too, where LISTEN/NOTIFY brings it once more later
    const seen = new Set<number>();
    const deadline = Date.now() + 20_000;
    while (seen.size < 2 && Date.now() < deadline) {
      // two requests on one kept-alive connection reach the same worker
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const who = await call(primary.url, "GET", "/api/test/pid", { agent });
        const list = await call(primary.url, "GET", "/api/collections/notes/records", { agent });
        expect(list.status).toBe(200);
        seen.add(who.body.pid);
      } finally {
        agent.destroy();
      }
    }
    expect(seen.size).toBe(2);
  });

  it("delivers to realtime subscribers on either worker the records written through either", async () => {
    // A raw stream, then SDK clients: the SDK opens its stream on one connection and posts its
    // subscriptions on another, which the primary may give to the other worker; that worker forwards the
    // request to the one holding the stream, so every subscription succeeds at the first try.
    const sse = await openSse(primary.url, { agent: false });
    streams.push(sse);
    const subscribedVia = new Set<number>();
    for (let i = 0; i < 8; i++) {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const who = await call(primary.url, "GET", "/api/test/pid", { agent });
        const res = await call(primary.url, "POST", "/api/realtime", {
          agent,
          json: { clientId: sse.clientId, subscriptions: [i % 2 ? "notes/*" : "notes"] },
        });
        expect(res.status).toBe(204);
        subscribedVia.add(who.body.pid);
      } finally {
        agent.destroy();
      }
    }
    // the subscription request reached both workers: one held the stream, the other forwarded
    expect(subscribedVia.size).toBe(2);
    const unknown = await call(primary.url, "POST", "/api/realtime", {
      json: { clientId: "no-such-client", subscriptions: ["notes"] },
    });
    expect(unknown.status).toBe(404);
    const clients = Array.from({ length: 6 }, () => {
      const pb = new PocketBase(primary.url);
      pb.autoCancellation(false);
      return pb;
    });
    sdks.push(...clients);
    const received = clients.map(() => [] as string[]);
    await Promise.all(
      clients.map((pb, i) => pb.collection("notes").subscribe("*", (e) => received[i].push(e.record.id))),
    );
    const writers = new Set<string>();
    const ids: string[] = [];
    for (let i = 0; i < 40 && writers.size < 2; i++) {
      const res = await call(primary.url, "POST", "/api/collections/notes/records", {
        json: { text: `n${i}` },
      });
      expect(res.status).toBe(200);
      writers.add(res.body.pid);
      ids.push(res.body.id);
    }
    expect(writers.size).toBe(2);
    await waitFor(() => received.every((r) => r.length >= ids.length), "every subscriber's events");
    for (const r of received) expect(r).toEqual(ids);
    const events = await waitFor(() => {
      const got = sse.frames.filter((f) => f.event === "notes/*");
      return got.length >= ids.length ? got : null;
    }, "the raw stream's events");
    expect(events.map((e) => (e.data as any).record.id)).toEqual(ids);
    expect(new Set(events.map((e) => (e.data as any).record.pid))).toEqual(writers);
  });

  it("counts a rate limit of N once across the workers", async () => {
    const saved = await call(primary.url, "PATCH", "/api/settings", {
      token,
      json: {
        rateLimits: {
          enabled: true,
          rules: [{ label: "/api/test/limited", audience: "", duration: 60, maxRequests: 6 }],
        },
      },
    });
    expect(saved.status).toBe(200);
    const statuses: number[] = [];
    const servedBy = new Set<number>();
    for (let i = 0; i < 14; i++) {
      const res = await call(primary.url, "GET", "/api/test/limited");
      statuses.push(res.status);
      if (res.status === 200) servedBy.add(res.body.pid);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    expect(statuses.filter((s) => s === 429)).toHaveLength(8);
    // round-robin spread the allowed requests over both workers: the count is shared, not per worker
    expect(servedBy.size).toBe(2);
    const off = await call(primary.url, "PATCH", "/api/settings", {
      token,
      json: { rateLimits: { enabled: false } },
    });
    expect(off.status).toBe(200);
  });

  it("lets concurrent writes from many clients through both workers all succeed", async () => {
    const total = 200;
    let next = 0;
    const statuses: number[] = [];
    const pids = new Set<string>();
    await Promise.all(
      Array.from({ length: 25 }, async () => {
        while (next < total) {
          const i = next++;
          const res = await call(primary.url, "POST", "/api/collections/notes/records", {
            json: { text: `c${i}` },
          });
          statuses.push(res.status);
          if (res.status === 200) pids.add(res.body.pid);
          else statuses.push(res.body?.message);
        }
      }),
    );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(pids.size).toBe(2);
    const list = await call(primary.url, "GET", "/api/collections/notes/records?filter=(text~'c')&perPage=1");
    expect(list.body.totalItems).toBe(total);
  });

  // process management is the same whatever the store: checked once, on SQLite
  it.runIf(store === "sqlite")(
    "restarts a worker that dies, and replaces them all on SIGHUP without refusing a request",
    async () => {
      const before = await workerPids(primary.url);
      process.kill(before[0], "SIGKILL");
      await waitFor(
        () => primary.output().includes(`Worker ${before[0]} exited with SIGKILL`),
        "the crash log",
      );
      await waitFor(() => /Worker \d+ started\./.test(primary.output()), "the new worker", 60_000);
      const after = await workerPids(primary.url);
      for (const pid of after) primaryPids.add(pid);
      expect(after).toHaveLength(2);
      expect(after).not.toContain(before[0]);
      expect(after).toContain(before[1]);

      primary.child.kill("SIGHUP");
      const statuses: number[] = [];
      while (!primary.output().includes("Rolling restart done.")) {
        statuses.push((await call(primary.url, "GET", "/api/test/pid")).status);
        if (primary.child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(primary.output()).toContain("Rolling restart done.");
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      const rolled = await workerPids(primary.url);
      for (const pid of rolled) primaryPids.add(pid);
      expect(rolled).toHaveLength(2);
      for (const pid of after) expect(rolled).not.toContain(pid);
      for (const pid of after) expect(alive(pid)).toBe(false);
    },
    120_000,
  );

  it("drains every worker on SIGTERM: in-flight requests finish, then the primary exits 0", async () => {
    const pids = await workerPids(primary.url);
    const slow = Array.from({ length: 4 }, () => call(primary.url, "GET", "/api/test/slow"));
    const started = join(cwd, "slow-started.log");
    await waitFor(() => {
      try {
        return readFileSync(started, "utf8").trim().split("\n").length === 4;
      } catch {
        return false;
      }
    }, "the slow requests to be in flight");
    primary.child.kill("SIGTERM");
    const answers = await Promise.all(slow);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(answers.map((a) => a.body.pid))).toEqual(new Set(pids));
    expect(await primary.exited).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  }, 60_000);
});
