import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "./cli-helpers.js";

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), "basalt-cli-"));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

describe("basalt graphql-schema", () => {
  it("prints the SDL of a data folder's collections, or writes it to --out", () => {
    expect(runCli(["superuser", "upsert", "root@example.com", "root-password-1"], cwd).code).toBe(0);
    const printed = runCli(["graphql-schema"], cwd);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toContain("type UsersRecord {");
    expect(printed.stdout).toContain("listUsers(");
    expect(printed.stdout).toContain("authWithPasswordUsers(");
    expect(printed.stdout).not.toContain("tokenKey");
    const out = join(cwd, "schema.graphql");
    expect(runCli(["graphql-schema", "--out", out], cwd).code).toBe(0);
    expect(readFileSync(out, "utf8")).toBe(printed.stdout);
  });

  it("basalt typegen --graphql writes the same SDL beside the TypeScript types", () => {
    expect(runCli(["superuser", "upsert", "root@example.com", "root-password-1"], cwd).code).toBe(0);
    const printed = runCli(["graphql-schema"], cwd);
    const types = join(cwd, "types.d.ts");
    const sdl = join(cwd, "types.graphql");
    const r = runCli(["typegen", "--out", types, "--graphql", sdl], cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(types, "utf8")).toContain("UsersRecord");
    expect(readFileSync(sdl, "utf8")).toBe(printed.stdout);
    expect(r.stdout).toContain("GraphQL schema (SDL)");
  });

  it("refuses a folder without Basalt data, and a bad introspection setting", () => {
    const r = runCli(["graphql-schema", "--dir", join(cwd, "nothing")], cwd);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("BASALT_ERR_CLI_NO_DATA");
    const bad = runCli(["serve", "--graphql-introspection", "maybe"], cwd);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("BASALT_ERR_CLI_USAGE");
  });
});
