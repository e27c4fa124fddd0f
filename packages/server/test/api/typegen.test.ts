import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { BIN } from "../cli/cli-helpers.js";
import { setupBlog } from "../harness/fixtures/blog.js";
import { startServer, type TestServer } from "../harness/server.js";

// The types are checked with tsc from a folder inside the package, so `pocketbase` resolves as it would
// in a user's project.
const TSC = resolve(import.meta.dirname, "../../../../node_modules/typescript/bin/tsc");
let dir = "";
let server: TestServer;

beforeAll(async () => {
  dir = mkdtempSync(join(resolve(import.meta.dirname, "../.."), ".typegen-test-"));
  server = await startServer({ dev: true, typesOut: join(dir, "dev-types.ts") });
  await setupBlog(server);
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const CONSUMER = `
import PocketBase from "pocketbase";
import type { CollectionRecords, PostsCreate, PostsResponse, PostsUpdate, TypedPocketBase, UsersCreate } from "./types.js";

export async function use(): Promise<void> {
  const pb = new PocketBase("http://127.0.0.1:8090") as TypedPocketBase;
  const post: PostsResponse = await pb.collection("posts").getOne("id", { expand: "author,tags" });
  const title: string = post.title;
  const views: number = post.views;
  const status: "draft" | "live" | "" = post.status;
  const labels: Array<"a" | "b" | "c"> = post.labels;
  const tags: string[] = post.tags;
  const authorEmail: string | undefined = post.expand?.author?.email;
  const tagLabels: string[] | undefined = post.expand?.tags?.map((t) => t.label);
  const create: PostsCreate = { title: "hello", status: "live", tags: ["t1"] };
  const update: PostsUpdate = { views: 3 };
  const user: UsersCreate = { email: "a@example.com", password: "x", passwordConfirm: "x" };
  const name: CollectionRecords["comments"]["collectionName"] = "comments";
  // @ts-expect-error a title is text
  const badTitle: PostsCreate = { title: 5 };
  // @ts-expect-error not one of the select's values
  const badStatus: PostsUpdate = { status: "archived" };
  // @ts-expect-error a required field is missing
  const missing: PostsCreate = { views: 1 };
  // @ts-expect-error hidden fields are not in the answer
  post.secretNote;
  void [title, views, status, labels, tags, authorEmail, tagLabels, create, update, user, name, badTitle, badStatus, missing];
}
`;

function typecheck(typesFile: string): { status: number | null; output: string } {
  writeFileSync(join(dir, "types.ts"), readFileSync(typesFile, "utf8"));
  writeFileSync(join(dir, "consumer.ts"), CONSUMER);
  const r = spawnSync(
    process.execPath,
    [
      TSC,
      "--noEmit",
      "--strict",
      "--skipLibCheck",
      "--module",
      "nodenext",
      "--moduleResolution",
      "nodenext",
      "--target",
      "es2022",
      join(dir, "consumer.ts"),
    ],
    { encoding: "utf8", cwd: dir },
  );
  return { status: r.status, output: r.stdout + r.stderr };
}

it("basalt typegen writes types the pocketbase SDK and hook code type-check against", {
  timeout: 90_000,
}, () => {
  const out = join(dir, "cli-types.ts");
  const source =
    server.store === "postgres"
      ? ["--db", String(server.basalt.app.config.dbUrl)]
      : ["--dir", server.dataDir];
  const r = spawnSync(process.execPath, [BIN, "typegen", "--out", out, ...source], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toContain("Wrote types for");
  const check = typecheck(out);
  expect(check.output).toBe("");
  expect(check.status).toBe(0);
});

it("--dev rewrites the types when a collection changes", async () => {
  const devFile = join(dir, "dev-types.ts");
  expect(readFileSync(devFile, "utf8")).toContain("export interface PostsRecord");
  expect(readFileSync(devFile, "utf8")).not.toContain("NotesRecord");
  await server.basalt.collections.create({
    name: "notes",
    type: "base",
    fields: [{ name: "text", type: "text" }],
  });
  expect(readFileSync(devFile, "utf8")).toContain("export interface NotesRecord");
});
