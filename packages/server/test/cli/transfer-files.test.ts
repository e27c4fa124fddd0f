import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import PocketBase from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, type Served, serve } from "./cli-helpers.js";

// Issue 12: `basalt export` / `basalt import` carry the uploaded files of a data folder.
const SU = { email: "ops@example.com", password: "ops-password-123" };

let cwd: string;
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), "basalt-transfer-files-"));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

async function stop(s: Served): Promise<void> {
  s.child.kill("SIGTERM");
  await s.exited;
}

async function signedIn(s: Served): Promise<PocketBase> {
  const pb = new PocketBase(s.url);
  await pb.collection("_superusers").authWithPassword(SU.email, SU.password);
  return pb;
}

const env = { BASALT_SUPERUSER_EMAIL: SU.email, BASALT_SUPERUSER_PASSWORD: SU.password };
const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));

describe("export and import with files", () => {
  let record: { id: string; doc: string; pics: string[] };

  it("export copies the stored files beside the dump", async () => {
    const s = await serve(["--dir", "src"], cwd, env);
    try {
      const pb = await signedIn(s);
      await pb.collections.create({
        name: "docs",
        type: "base",
        listRule: "",
        viewRule: "",
        fields: [
          { name: "doc", type: "file", maxSelect: 1 },
          { name: "pics", type: "file", maxSelect: 5, thumbs: ["10x10"] },
        ],
      });
      record = (await pb.collection("docs").create({
        doc: new File([bytes], "data.bin"),
        pics: [
          new File(["<svg xmlns='http://www.w3.org/2000/svg'/>"], "a.svg"),
          new File(["hello"], "b.txt"),
        ],
      })) as never;
    } finally {
      await stop(s);
    }
    const out = runCli(["export", "--dir", "src", "--out", "dump.ndjson"], cwd);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain("Copied 3 uploaded files (300046 bytes)");
    expect(readdirSync(join(cwd, "dump.ndjson.files")).sort()).toContain("manifest.json");
    // a second export to the same place is refused (the dump or its files folder exists)
    rmSync(join(cwd, "dump.ndjson"));
    const again = runCli(["export", "--dir", "src", "--out", "dump.ndjson"], cwd);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("dump.ndjson.files already exists");
    rmSync(join(cwd, "dump.ndjson.files"), { recursive: true });
    expect(runCli(["export", "--dir", "src", "--out", "dump.ndjson"], cwd).code).toBe(0);
  });

  it("import puts them in the new data folder's storage/: the files download as before", async () => {
    const out = runCli(["import", "--in", "dump.ndjson", "--dir", "dst"], cwd);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain("Copied 3 uploaded files");
    const s = await serve(["--dir", "dst"], cwd, env);
    try {
      const pb = await signedIn(s);
      const got = await pb.collection("docs").getOne(record.id);
      expect(got.doc).toBe(record.doc);
      const doc = await fetch(pb.files.getURL(got, got.doc));
      expect(Buffer.from(await doc.arrayBuffer())).toEqual(bytes);
      const svg = await fetch(pb.files.getURL(got, got.pics[0]));
      // the stored (sniffed) type came along: still an attachment, never inline
      expect(svg.headers.get("content-type")).toBe("image/svg+xml");
      expect(svg.headers.get("content-disposition")).toMatch(/^attachment/);
      expect(await (await fetch(pb.files.getURL(got, got.pics[1]))).text()).toBe("hello");
    } finally {
      await stop(s);
    }
  });

  it("an incomplete files folder, or a target storage/ that holds files, is refused and changes nothing", async () => {
    // a file missing from the copy: the manifest does not match
    const folder = join(cwd, "dump.ndjson.files");
    const victim = readdirSync(folder, { recursive: true })
      .map(String)
      .find((p) => p.endsWith(".txt")) as string;
    rmSync(join(folder, victim));
    const broken = runCli(["import", "--in", "dump.ndjson", "--dir", "dst2"], cwd);
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toContain("BASALT_ERR_TRANSFER_FILES");
    expect(existsSync(join(cwd, "dst2"))).toBe(false);
    // a target whose storage/ already holds files
    writeFileSync(join(folder, victim), "hello");
    const busy = join(cwd, "dst3", "storage", "x");
    mkdirSync(busy, { recursive: true });
    writeFileSync(join(busy, "y.txt"), "y");
    const refused = runCli(["import", "--in", "dump.ndjson", "--dir", "dst3"], cwd);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("BASALT_ERR_TRANSFER_FILES");
    expect(existsSync(join(cwd, "dst3", "data.db"))).toBe(false);
  });
});
