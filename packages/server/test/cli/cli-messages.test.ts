import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "./cli-helpers.js";

// Issue 11, item 12: every CLI validation error is one line ending in its BASALT_ERR code, and refusing
// creates nothing.

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), "basalt-cli-msg-"));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

const lines = (s: string) => s.trim().split("\n").filter(Boolean);
const errorLine = (s: string) => lines(s).find((l) => /error/i.test(l)) ?? "";

describe("CLI messages", () => {
  it("end usage errors (unknown flag, bad value, missing argument) with a code", () => {
    for (const args of [
      ["serve", "--no-such-flag"],
      ["serve", "--body-limit", "lots"],
      ["serve", "--log-level", "loud"],
      ["superuser", "upsert"],
      ["export"],
    ]) {
      const r = runCli(args, cwd);
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(errorLine(r.stderr), args.join(" ")).toMatch(/\(BASALT_ERR_CLI_USAGE\)$/);
    }
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("say an --http port is out of range, and a malformed address, creating nothing", () => {
    const far = runCli(["serve", "--http", "127.0.0.1:70000"], cwd);
    expect(far.code).toBe(1);
    expect(lines(far.stderr)).toHaveLength(1);
    expect(far.stderr).toContain("0 to 65535");
    expect(far.stderr).toContain("BASALT_ERR_SERVE_BAD_PORT");
    const bad = runCli(["serve", "--http", "nowhere"], cwd);
    expect(bad.stderr).toContain("BASALT_ERR_SERVE_BAD_ADDRESS");
    expect(existsSync(join(cwd, "basalt_data"))).toBe(false);
  });

  it("suggest --http and BASALT_HTTP for a taken port, creating no data folder", async () => {
    const holder: Server = createServer();
    await new Promise<void>((r) => holder.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (holder.address() as { port: number }).port;
      const r = runCli(["serve", "--http", `127.0.0.1:${port}`, "--dir", "fresh"], cwd);
      expect(r.code).toBe(1);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toContain("BASALT_ERR_SERVE_PORT_IN_USE");
      expect(r.stderr).toContain("--http");
      expect(r.stderr).toContain("BASALT_HTTP");
      expect(existsSync(join(cwd, "fresh"))).toBe(false);
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });

  it("say the password is missing when only BASALT_SUPERUSER_EMAIL is set (and the other way round)", () => {
    const r = runCli(["serve", "--http", "127.0.0.1:0"], cwd, { BASALT_SUPERUSER_EMAIL: "ops@example.com" });
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain("BASALT_SUPERUSER_PASSWORD is missing");
    expect(r.stderr).toContain("BASALT_ERR_CLI_SUPERUSER_PASSWORD_MISSING");
    const e = runCli(["serve", "--http", "127.0.0.1:0"], cwd, {
      BASALT_SUPERUSER_PASSWORD: "long-enough-pass",
    });
    expect(e.stderr).toContain("BASALT_ERR_CLI_SUPERUSER_EMAIL_MISSING");
    const short = runCli(["serve", "--http", "127.0.0.1:0"], cwd, {
      BASALT_SUPERUSER_EMAIL: "ops@example.com",
      BASALT_SUPERUSER_PASSWORD: "short",
    });
    expect(short.stderr).toContain("BASALT_ERR_CLI_SHORT_PASSWORD");
    expect(existsSync(join(cwd, "basalt_data"))).toBe(false);
  });

  it("give superuser input errors their codes", () => {
    expect(runCli(["superuser", "upsert", "nope", "long-enough-pass"], cwd).stderr).toContain(
      "BASALT_ERR_CLI_INVALID_EMAIL",
    );
    expect(runCli(["superuser", "upsert", "a@example.com", "short"], cwd).stderr).toContain(
      "BASALT_ERR_CLI_SHORT_PASSWORD",
    );
  });

  it("say when `superuser upsert --dir` created a new data folder, and refuse `delete` on one without data", () => {
    mkdirSync(join(cwd, "typo"));
    const created = runCli(["superuser", "upsert", "a@example.com", "password-123", "--dir", "typo"], cwd);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain("new data folder");
    const again = runCli(["superuser", "upsert", "a@example.com", "password-456", "--dir", "typo"], cwd);
    expect(again.stdout).not.toContain("new data folder");
    const del = runCli(["superuser", "delete", "a@example.com", "--dir", "elsewhere"], cwd);
    expect(del.code).toBe(1);
    expect(del.stderr).toContain("BASALT_ERR_CLI_NO_DATA");
    expect(existsSync(join(cwd, "elsewhere"))).toBe(false);
  });
  it("refuse encrypted data without its key, or with another one, in one coded line (issue 18)", () => {
    const dir = join(cwd, "data");
    const key = { SECRETS_KEY: "0123456789abcdef0123456789abcdef" };
    const made = runCli(
      [
        "superuser",
        "upsert",
        "a@example.com",
        "password-123",
        "--dir",
        dir,
        "--encryption-env",
        "SECRETS_KEY",
      ],
      cwd,
      key,
    );
    expect(made.code, made.stderr).toBe(0);
    const missing = runCli(["serve", "--http", "127.0.0.1:0", "--dir", dir], cwd);
    expect(missing.code).toBe(1);
    expect(lines(missing.stderr)).toHaveLength(1);
    expect(missing.stderr).toMatch(/SECRETS_KEY.*\(BASALT_ERR_ENCRYPTION_KEY_MISSING\)$/m);
    const unset = runCli(["superuser", "upsert", "a@example.com", "password-123", "--dir", dir], cwd, {
      BASALT_ENCRYPTION_ENV: "SECRETS_KEY",
    });
    expect(unset.stderr).toMatch(/SECRETS_KEY, which is not set.*\(BASALT_ERR_ENCRYPTION_KEY_MISSING\)$/m);
    const wrong = runCli(
      ["serve", "--http", "127.0.0.1:0", "--dir", dir, "--encryption-env", "SECRETS_KEY"],
      cwd,
      {
        SECRETS_KEY: "x".repeat(32),
      },
    );
    expect(wrong.code).toBe(1);
    expect(lines(wrong.stderr)).toHaveLength(1);
    expect(wrong.stderr).toMatch(/\(BASALT_ERR_ENCRYPTION_KEY_WRONG\)$/m);
    const short = runCli(
      ["serve", "--http", "127.0.0.1:0", "--dir", dir, "--encryption-env", "SECRETS_KEY"],
      cwd,
      {
        SECRETS_KEY: "short",
      },
    );
    expect(short.stderr).toMatch(/32 characters.*\(BASALT_ERR_ENCRYPTION_KEY_INVALID\)$/m);
  });
});
