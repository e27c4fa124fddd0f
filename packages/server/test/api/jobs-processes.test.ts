import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { freePort } from "../cli/cli-helpers.js";
import { createTestDatabase, testStore } from "../harness/dialects.js";
import { waitFor } from "../harness/wait.js";

const ENTRY = fileURLToPath(new URL("../harness/jobs-node.mjs", import.meta.url));

interface Node {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
}

async function startNode(env: Record<string, string>): Promise<Node> {
  const port = await freePort();
  const child = spawn(process.execPath, [ENTRY], {
    env: { ...process.env, ...env, BASALT_TEST_PORT: String(port) },
  });
  let out = "";
  child.stdout?.on("data", (d) => (out += d));
  child.stderr?.on("data", (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await waitFor(() => out.includes("ready") || child.exitCode !== null, "a job node to start", 90_000);
  if (!out.includes("ready")) throw new Error(`job node failed: ${out}`);
  return { child, url: `http://127.0.0.1:${port}`, exited };
}

async function post(node: Node, path: string, body: unknown): Promise<any> {
  const res = await fetch(node.url + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

const durations = (n: number) => Array.from({ length: n }, (_, i) => 20 + ((i * 37) % 100));

interface Run {
  id: string;
  pid: string;
  start: number;
  end: number;
}

/** Pairs each handler start with the same process's next end of that job; a killed process's runs end at its death. */
function runsOf(lines: string[][], killed: { pid: string; at: number }): Run[] {
  const runs: Run[] = [];
  lines.forEach(([kind, id, pid, t], i) => {
    if (kind !== "start") return;
    const end = lines.slice(i + 1).find(([k, id2, pid2]) => k === "end" && id2 === id && pid2 === pid);
    if (!end && pid !== killed.pid) throw new Error(`job ${id} started in ${pid} but never ended`);
    runs.push({ id, pid, start: Number(t), end: end ? Number(end[3]) : killed.at });
  });
  return runs;
}

describe("jobs across processes, with kill -9", () => {
  it("loses no acknowledged job, runs each cron tick once and never runs a job in two processes at once", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "basalt-jobs-procs-"));
    const logFile = join(dataDir, "handlers.log");
    const database = testStore() === "postgres" ? await createTestDatabase() : undefined;
    const env = {
      BASALT_TEST_DIR: dataDir,
      BASALT_TEST_LOG: logFile,
      BASALT_TEST_DB: database?.url ?? "",
    };
    const nodes: Node[] = [];
    try {
      // SQLite: several processes on one host; PostgreSQL: several instances on one database
      for (let i = 0; i < 3; i++) nodes.push(await startNode(env));
      const acked: string[] = [];
      for (const node of nodes)
        acked.push(...(await post(node, "/api/test/enqueue", { durations: durations(15) })).ids);
      const victim = nodes[0];
      const victimPid = String(victim.child.pid);
      const log = () =>
        readFileSync(logFile, "utf8").trim() ? readFileSync(logFile, "utf8").trim().split("\n") : [];
      await waitFor(
        () => log().some((l) => l.startsWith("start ") && l.includes(` ${victimPid} `)),
        "the victim to run jobs",
      );
      // acknowledged, then the process dies at once: the jobs must still run elsewhere
      acked.push(...(await post(victim, "/api/test/enqueue", { durations: durations(10) })).ids);
      victim.child.kill("SIGKILL");
      const killedAt = Date.now();
      await victim.exited;
      acked.push(...(await post(nodes[1], "/api/test/enqueue", { durations: durations(10) })).ids);
      nodes.push(await startNode(env));
      const live = nodes.slice(1);
      const ticks = [Date.UTC(2026, 1, 1, 3), Date.UTC(2026, 1, 2, 3)];
      for (const tick of ticks) await Promise.all(live.map((n) => post(n, "/api/test/tick", { tick })));

      const states = await waitFor(
        async () => {
          const res = await fetch(`${nodes[1].url}/api/test/jobs`);
          const jobs = (await res.json()) as { id: string; state: string }[];
          const done = new Set(jobs.filter((j) => j.state === "done").map((j) => j.id));
          return acked.every((id) => done.has(id)) ? jobs : null;
        },
        "every acknowledged job to be done",
        120_000,
      );
      expect(states.length).toBe(acked.length);
      await waitFor(
        () => log().filter((l) => l.startsWith("cron ")).length >= ticks.length,
        "the cron ticks",
      );

      const lines = log().map((l) => l.split(" "));
      const runs = runsOf(lines, { pid: victimPid, at: killedAt });
      for (const id of acked) {
        const mine = runs.filter((r) => r.id === id).sort((a, b) => a.start - b.start);
        expect(mine.length).toBeGreaterThanOrEqual(1);
        for (let i = 1; i < mine.length; i++) {
          // a second run starts only after the first one ended (or its process died)
          expect(mine[i].start).toBeGreaterThanOrEqual(mine[i - 1].end);
        }
      }
      // more than one process did work: the queue is shared
      expect(new Set(runs.map((r) => r.pid)).size).toBeGreaterThan(1);
      const cron = lines.filter(([k]) => k === "cron").map(([, tick]) => Number(tick));
      expect(cron.sort()).toEqual(ticks);
    } finally {
      for (const n of nodes) if (n.child.exitCode === null) n.child.kill("SIGKILL");
      await Promise.all(nodes.map((n) => n.exited));
      rmSync(dataDir, { recursive: true, force: true });
      await database?.drop();
    }
  }, 300_000);
});

describe("jobs and SIGTERM", () => {
  it("a job still running at SIGTERM is handed back to the queue and runs after a restart", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "basalt-jobs-term-"));
    const logFile = join(dataDir, "handlers.log");
    const database = testStore() === "postgres" ? await createTestDatabase() : undefined;
    // a long lease: a job left leased by the stopped process would not run again within this test
    const env = {
      BASALT_TEST_DIR: dataDir,
      BASALT_TEST_LOG: logFile,
      BASALT_TEST_DB: database?.url ?? "",
      BASALT_TEST_LEASE_MS: "120000",
    };
    const log = () => readFileSync(logFile, { encoding: "utf8", flag: "a+" }).trim().split("\n");
    let node: Node | undefined;
    try {
      node = await startNode(env);
      const [id] = (await post(node, "/api/test/enqueue", { durations: [8000] })).ids as string[];
      await waitFor(() => log().some((l) => l.startsWith(`start ${id}`)), "the job to start");
      const first = String(node.child.pid);
      node.child.kill("SIGTERM");
      await node.exited;
      expect(node.child.exitCode).toBe(0);
      node = await startNode(env);
      const second = String(node.child.pid);
      const ended = (pid: string) => log().some((l) => l.startsWith(`end ${id} ${pid}`));
      // the 8 s job outlasts the 3 s shutdown grace: the stopped process hands it back, the new one runs it
      await waitFor(() => ended(second), "the job to run in the restarted process", 30_000);
      expect(ended(first)).toBe(false);
      const url = node.url;
      const jobs = async () =>
        (await (await fetch(`${url}/api/test/jobs`)).json()) as { id: string; state: string }[];
      await waitFor(async () => (await jobs())[0]?.state === "done", "the job to be marked done");
      expect((await jobs()).map((j) => j.id)).toEqual([id]);
    } finally {
      if (node && node.child.exitCode === null) {
        node.child.kill("SIGTERM");
        await node.exited;
      }
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
