import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import PocketBase from "pocketbase";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freePort, runCli, serve } from "./cli-helpers.js";

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), "basalt-cli-"));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

const oneLine = (s: string) => s.trim().split("\n").filter(Boolean);

describe("basalt CLI", () => {
  it("describes every command and flag", () => {
    const help = runCli(["--help"], cwd);
    expect(help.code).toBe(0);
    for (const word of ["serve", "superuser"]) expect(help.stdout).toContain(word);
    const serveHelp = runCli(["serve", "--help"], cwd);
    for (const flag of [
      "--http",
      "--dir",
      "--origins",
      "--log-level",
      "--body-limit",
      "--sqlite-sync",
      "--app-url",
      "--trusted-proxies",
      "--shutdown-timeout",
      "BASALT_HTTP",
      "BASALT_SUPERUSER_EMAIL",
    ]) {
      expect(serveHelp.stdout).toContain(flag);
    }
    expect(runCli(["superuser", "upsert", "--help"], cwd).stdout).toContain("<email>");
  });

  it("refuses a bad e-mail or a short password with one line, writing nothing", () => {
    const bad = runCli(["superuser", "upsert", "not-an-email", "long-enough-pass"], cwd);
    expect(bad.code).toBe(1);
    expect(oneLine(bad.stderr)).toHaveLength(1);
    expect(bad.stderr).toMatch(/email/i);
    const short = runCli(["superuser", "upsert", "a@example.com", "short"], cwd);
    expect(short.code).toBe(1);
    expect(oneLine(short.stderr)).toHaveLength(1);
    expect(short.stderr).toContain("at least 8");
    expect(existsSync(join(cwd, "basalt_data"))).toBe(false);
  });

  it("upserts and deletes superusers", () => {
    const created = runCli(["superuser", "upsert", "Admin@Example.com", "first-password-1"], cwd);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain("created");
    expect(runCli(["superuser", "upsert", "admin@example.com", "second-password-2"], cwd).stdout).toContain(
      "updated",
    );
    expect(runCli(["superuser", "delete", "admin@example.com"], cwd).code).toBe(0);
    const missing = runCli(["superuser", "delete", "admin@example.com"], cwd);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("BASALT_ERR_CLI_SUPERUSER_NOT_FOUND");
  });

  it("refuses a corrupt database file and leaves it untouched", () => {
    const dir = join(cwd, "data");
    runCli(["superuser", "upsert", "a@example.com", "password-123", "--dir", dir], cwd);
    writeFileSync(join(dir, "data.db"), "this is not a sqlite database, just text ".repeat(200));
    rmSync(join(dir, "data.db-wal"), { force: true });
    rmSync(join(dir, "data.db-shm"), { force: true });
    const before = readFileSync(join(dir, "data.db"));
    const r = runCli(["superuser", "upsert", "a@example.com", "password-123", "--dir", dir], cwd);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain("BASALT_ERR_DB_CORRUPT");
    expect(readFileSync(join(dir, "data.db")).equals(before)).toBe(true);
  });

  it("refuses a data folder it cannot create", () => {
    writeFileSync(join(cwd, "a-file"), "x");
    const r = runCli(["serve", "--dir", join(cwd, "a-file", "data"), "--http", "127.0.0.1:0"], cwd);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain("BASALT_ERR_DATA_DIR_UNWRITABLE");
  });

  it("refuses a malformed --http address and a port in use", async () => {
    const bad = runCli(["serve", "--http", "localhost"], cwd);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("BASALT_ERR_SERVE_BAD_ADDRESS");
    const first = await serve([], cwd);
    try {
      const port = new URL(first.url).port;
      const second = runCli(["serve", "--http", `127.0.0.1:${port}`, "--dir", "other"], cwd);
      expect(second.code).toBe(1);
      expect(oneLine(second.stderr)).toHaveLength(1);
      expect(second.stderr).toContain("BASALT_ERR_SERVE_PORT_IN_USE");
    } finally {
      first.child.kill("SIGTERM");
      await first.exited;
    }
  });

  it("serves from flags and BASALT_* variables, creates the start-up superuser, and exits 0 on SIGTERM", async () => {
    const port = await freePort();
    const served = await serve(["--http", `127.0.0.1:${port}`], cwd, {
      BASALT_DIR: join(cwd, "envdata"),
      BASALT_SUPERUSER_EMAIL: "ops@example.com",
      BASALT_SUPERUSER_PASSWORD: "ops-password-123",
    });
    expect(served.output()).toContain(join(cwd, "envdata"));
    const pb = new PocketBase(`http://127.0.0.1:${port}`);
    await pb.collection("_superusers").authWithPassword("ops@example.com", "ops-password-123");
    expect(pb.authStore.isSuperuser).toBe(true);
    served.child.kill("SIGTERM");
    expect(await served.exited).toBe(0);
    expect(served.output()).toContain("SIGTERM received");
  });

  it("tells how to create the first superuser when there is none", async () => {
    const served = await serve([], cwd);
    expect(served.output()).toContain("No superuser yet");
    expect(served.output()).toContain("basalt superuser upsert");
    // the printed one-time installer link creates the first superuser from this machine
    const link = /(http:\/\/[^\s]+)\/_\/#\/install\/([\w-]{40,})/.exec(served.output());
    expect(link).not.toBeNull();
    const create = (token: string) =>
      fetch(`${link![1]}/api/basalt/installer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          token,
          email: "first@example.com",
          password: "first-pass-123",
          passwordConfirm: "first-pass-123",
        }),
      });
    expect((await create(link![2])).status).toBe(204);
    expect((await create(link![2])).status).toBe(403);
    served.child.kill("SIGINT");
    expect(await served.exited).toBe(0);
  });

  it("keeps an acknowledged write after kill -9", async () => {
    runCli(["superuser", "upsert", "a@example.com", "password-123"], cwd);
    const first = await serve([], cwd);
    const pb = new PocketBase(first.url);
    await pb.collection("_superusers").authWithPassword("a@example.com", "password-123");
    await pb.collections.create({ name: "durable", fields: [{ name: "v", type: "text" }] });
    first.child.kill("SIGKILL");
    await first.exited;
    const second = await serve([], cwd);
    try {
      const pb2 = new PocketBase(second.url);
      await pb2.collection("_superusers").authWithPassword("a@example.com", "password-123");
      const c = await pb2.collections.getOne("durable");
      expect(c.fields.map((f: { name: string }) => f.name)).toEqual(["id", "v"]);
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  });
});
