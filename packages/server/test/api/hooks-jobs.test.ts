import type PocketBase from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HooksProject, hooksProject } from "../harness/hooks-project.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";
import { waitFor } from "../harness/wait.js";

// A user's hook file: a record hook enqueues a job inside the write's transaction, the same file handles
// the queue (failing the first attempt) and schedules a cron job. A later hook can still roll the write back.
const HOOK = `import type { HookApi } from "basalt";

export default function (app: HookApi) {
  app.onRecordCreate(
    async (e) => {
      await app.jobs.enqueue("notify", { noteId: e.record.id, title: e.record.title });
      return e.next();
    },
    { collections: ["notes"] },
  );

  // runs the insert, then refuses some writes after it: the whole transaction rolls back
  app.onRecordCreateExecute(
    async (e) => {
      await e.next();
      if (e.record.title === "rollback") throw app.errors.badRequest("Refused after the insert.");
    },
    { collections: ["notes"] },
  );

  app.jobs.handle<{ noteId: string; title: string }>(
    "notify",
    async (job) => {
      if (job.attempt === 1) throw new Error("first attempt fails");
      await app.records.create("deliveries", { note: job.payload.noteId, attempt: job.attempt });
    },
    { backoff: { baseMs: 10, maxMs: 10 } },
  );

  app.cron.add("notes-digest", "*/5 * * * *", async (tick) => {
    await app.records.create("digests", { at: tick.toISOString() });
  });
}
`;

let project: HooksProject;
let server: TestServer;
let admin: PocketBase;

beforeAll(async () => {
  project = hooksProject({ "notify.ts": HOOK });
  server = await startServer({ hooksDir: project.hooksDir, jobsPollMs: 20 });
  admin = await superuserSdk(server);
  await admin.collections.create({
    name: "notes",
    type: "base",
    createRule: "",
    fields: [{ name: "title", type: "text" }],
  });
  await admin.collections.create({
    name: "deliveries",
    type: "base",
    fields: [
      { name: "note", type: "text" },
      { name: "attempt", type: "number" },
    ],
  });
  await admin.collections.create({ name: "digests", type: "base", fields: [{ name: "at", type: "text" }] });
});

afterAll(async () => {
  await server?.stop();
  project?.remove();
});

describe("jobs and cron from a hook file", () => {
  it("a record hook's job exists iff the write commits, and runs after a failed attempt", async () => {
    const jobs = server.basalt.app.jobs;
    const note = await server.sdk().collection("notes").create({ title: "hello" });
    // the handler's record insert lands before the job is marked done: wait for the job's final state
    await waitFor(async () => {
      const listed = await jobs.list({ queue: "notify" });
      return listed.totalItems === 1 && listed.items[0].state === "done";
    }, "the job to run after its retry");
    const delivered = (await server.basalt.records.list("deliveries")).items[0];
    expect(delivered).toMatchObject({ note: note.id, attempt: 2 });
    const done = await jobs.list({ queue: "notify" });
    expect(done.totalItems).toBe(1);
    expect(done.items[0]).toMatchObject({ state: "done", payload: { noteId: note.id, title: "hello" } });
    expect(done.items[0].attempts).toBe(2);

    // a later hook throws after the insert: neither the record nor its job remains
    await expect(server.sdk().collection("notes").create({ title: "rollback" })).rejects.toMatchObject({
      status: 400,
    });
    expect((await server.basalt.records.list("notes")).totalItems).toBe(1);
    expect((await jobs.list({ queue: "notify" })).totalItems).toBe(1);
    expect((await server.basalt.records.list("deliveries")).totalItems).toBe(1);
  });

  it("schedules the hook file's cron job, whose tick runs", async () => {
    const cron = server.basalt.app.cron;
    expect(cron.list()).toContainEqual({ id: "notes-digest", expression: "*/5 * * * *" });
    const at = new Date("2026-12-03T09:10:00.000Z");
    await cron.enqueueTick("notes-digest", at);
    await waitFor(
      async () => (await server.basalt.records.list("digests")).totalItems === 1,
      "the cron tick to run",
    );
    expect((await server.basalt.records.list("digests")).items[0].at).toBe(at.toISOString());
  });
});
