import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import PocketBase from "pocketbase";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort } from "../cli/cli-helpers.js";

// Runs examples/embedded/server.mjs as a user would (node, importing the built `basalt` package) and
// speaks to it over HTTP and the SDK.
const EXAMPLE = resolve(import.meta.dirname, "../../../../examples/embedded");

let child: ReturnType<typeof spawn>;
let url = "";
let out = "";
let dataDir = "";

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "basalt-example-"));
  const port = await freePort();
  child = spawn(process.execPath, ["server.mjs"], {
    cwd: EXAMPLE,
    env: { ...process.env, DATA_DIR: dataDir, HTTP: `127.0.0.1:${port}` },
  });
  child.stdout?.on("data", (d) => (out += d));
  child.stderr?.on("data", (d) => (out += d));
  const deadline = Date.now() + 20_000;
  while (!out.includes("example listening at") && child.exitCode === null && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(out).toContain("example listening at");
  url = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

it("serves the collection, hooks and routes defined in code", async () => {
  const pb = new PocketBase(url);
  const task = await pb.collection("tasks").create({ title: "  write docs  " });
  expect(task).toMatchObject({ title: "write docs", priority: 1, done: false });
  await expect(pb.collection("tasks").create({ title: "urgent", priority: 9 })).rejects.toMatchObject({
    status: 400,
    response: { data: { priority: { code: "validation_max_priority" } } },
  });
  const hello = await fetch(`${url}/api/tasks/hello/ada`);
  expect(await hello.json()).toEqual({ message: "Hello, ada!" });
  expect((await fetch(`${url}/api/tasks/stats`)).status).toBe(401);
});

it("stops cleanly on SIGTERM", async () => {
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  child.kill("SIGTERM");
  expect(await exited).toBe(0);
});
