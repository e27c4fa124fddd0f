import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, serve } from "./cli-helpers.js";

// The serve flags of the public folder (issue 11, item 10) and the OAuth2 avatar fetch (issue 12).
let cwd: string;
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), "basalt-serve-flags-"));
  mkdirSync(join(cwd, "basalt_public"));
  writeFileSync(join(cwd, "basalt_public", "index.html"), "DEFAULT-PUBLIC");
  mkdirSync(join(cwd, "site"));
  writeFileSync(join(cwd, "site", "index.html"), "OTHER-SITE");
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

describe("basalt serve: --public-dir and --index-fallback", () => {
  it("serves ./basalt_public by default, with the SPA fallback on", async () => {
    const s = await serve(["--dir", "d1"], cwd);
    try {
      expect(await (await fetch(`${s.url}/`)).text()).toBe("DEFAULT-PUBLIC");
      expect(await (await fetch(`${s.url}/a/client/route`)).text()).toBe("DEFAULT-PUBLIC");
    } finally {
      s.child.kill("SIGTERM");
      await s.exited;
    }
  });

  it("--public-dir names another folder and --index-fallback false turns the fallback off", async () => {
    const s = await serve(["--dir", "d2", "--public-dir", "site", "--index-fallback", "false"], cwd);
    try {
      expect(await (await fetch(`${s.url}/`)).text()).toBe("OTHER-SITE");
      expect((await fetch(`${s.url}/a/client/route`)).status).toBe(404);
    } finally {
      s.child.kill("SIGTERM");
      await s.exited;
    }
  });

  it("refuses bad values with the usage code, before creating anything", () => {
    const fallback = runCli(["serve", "--dir", "d3", "--index-fallback", "maybe"], cwd);
    expect(fallback.code).not.toBe(0);
    expect(fallback.stderr).toContain("BASALT_ERR_CLI_USAGE");
    const targets = runCli(
      ["serve", "--dir", "d3", "--oauth2-avatar-allowed-targets", "loopback,everything"],
      cwd,
    );
    expect(targets.code).not.toBe(0);
    expect(targets.stderr).toContain("BASALT_ERR_CLI_USAGE");
    expect(existsSync(join(cwd, "d3"))).toBe(false);
  });
});
