import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import PocketBase from "pocketbase";
import { afterAll, describe, expect, it } from "vitest";
import { type Served, serve } from "./cli-helpers.js";

const cwd = mkdtempSync(join(tmpdir(), "basalt-cli-backup-"));
let served: Served | undefined;

afterAll(async () => {
  if (served && served.child.exitCode === null) {
    served.child.kill("SIGKILL");
    await served.exited;
  }
  rmSync(cwd, { recursive: true, force: true });
});

const SU = { BASALT_SUPERUSER_EMAIL: "ops@example.com", BASALT_SUPERUSER_PASSWORD: "ops-password-123" };

async function waitFor(what: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!what() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

describe("basalt serve restarts itself onto a restored backup", () => {
  it("serves the restored data on the same address, then still stops cleanly", async () => {
    served = await serve(["--dir", join(cwd, "data")], cwd, SU);
    const pb = new PocketBase(served.url);
    await pb
      .collection("_superusers")
      .authWithPassword(SU.BASALT_SUPERUSER_EMAIL, SU.BASALT_SUPERUSER_PASSWORD);
    await pb.collections.create({ name: "notes", type: "base", fields: [{ name: "title", type: "text" }] });
    const kept = await pb.collection("notes").create({ title: "kept" });
    await pb.backups.create("cli.zip");
    await pb.collection("notes").delete(kept.id);
    await pb.backups.restore("cli.zip");
    await waitFor(() => served!.output().includes("Basalt restarted"), 20_000);
    expect(served.output()).toContain(`Basalt restarted onto the restored data, serving ${served.url}/api/`);
    // a fresh client (no pooled socket to the stopped server)
    const again = new PocketBase(served.url);
    await again
      .collection("_superusers")
      .authWithPassword(SU.BASALT_SUPERUSER_EMAIL, SU.BASALT_SUPERUSER_PASSWORD, { keepalive: false });
    expect((await again.collection("notes").getFullList({ keepalive: false })).map((r) => r.title)).toEqual([
      "kept",
    ]);
    served.child.kill("SIGTERM");
    expect(await served.exited).toBe(0);
  });
});
